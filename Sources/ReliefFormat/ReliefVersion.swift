/// The version of Relief recorded in every file it writes.
public enum ReliefVersion {
    public static let current = "0.1.0"
}
