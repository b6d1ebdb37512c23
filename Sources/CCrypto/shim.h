#include <openssl/evp.h>

// One-shot SHA-256 through the EVP interface (the low-level SHA256_* calls are deprecated in OpenSSL 3).
static inline int nhi_sha256(const void *data, size_t len, unsigned char out[32]) {
    unsigned int outlen = 0;
    return EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL) == 1 && outlen == 32;
}

// Incremental SHA-256 for inputs read in chunks (an import file's fingerprint without holding the file).
static inline void *nhi_sha256_begin(void) {
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    if (context != NULL && EVP_DigestInit_ex(context, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(context);
        return NULL;
    }
    return context;
}

static inline int nhi_sha256_update(void *context, const void *data, size_t len) {
    return EVP_DigestUpdate((EVP_MD_CTX *)context, data, len) == 1;
}

// Writes the digest and frees the context (also when it fails).
static inline int nhi_sha256_end(void *context, unsigned char out[32]) {
    unsigned int outlen = 0;
    int ok = EVP_DigestFinal_ex((EVP_MD_CTX *)context, out, &outlen) == 1 && outlen == 32;
    EVP_MD_CTX_free((EVP_MD_CTX *)context);
    return ok;
}
