#include <openssl/evp.h>

// One-shot SHA-256 through the EVP interface (the low-level SHA256_* calls are deprecated in OpenSSL 3).
static inline int nhi_sha256(const void *data, size_t len, unsigned char out[32]) {
    unsigned int outlen = 0;
    return EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) == 1 && outlen == 32;
}
