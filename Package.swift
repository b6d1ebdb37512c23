// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "nhi",
    products: [
        .executable(name: "nhi", targets: ["nhi"]),
        .library(name: "NHI", targets: ["NHI"]),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "NHI", dependencies: ["CSQLite", "CCrypto"]),
        .executableTarget(name: "nhi", dependencies: ["NHI"]),
        .testTarget(name: "NHITests", dependencies: ["NHI"]),
        .testTarget(name: "EndToEndTests", dependencies: ["NHI"]),
    ],
    swiftLanguageModes: [.v6]
)
