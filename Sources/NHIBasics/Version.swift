/// The version `nhi --version` prints and every report and SARIF/HTML file names as its tool version.
public enum Version {
    public static let string = "0.1.0"
}
