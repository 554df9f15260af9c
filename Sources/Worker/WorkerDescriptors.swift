/// The descriptors a worker is started with, at fixed numbers (the supervisor dup2s them there),
/// and the variables that describe them. Shared by both sides so they cannot drift apart.
public enum WorkerDescriptors {
    public static let stats: Int32 = 3
    public static let control: Int32 = 4
    public static let firstListener: Int32 = 5
    /// How many listeners follow `firstListener`.
    public static let listenerCountVariable = "LLM0_WORKER_LISTENERS"
    /// "1" when the listeners are shared by every worker (systemd's sockets) rather than this
    /// worker's own SO_REUSEPORT sockets.
    public static let sharedListenersVariable = "LLM0_WORKER_SHARED_LISTENERS"

    /// Control messages on the worker's SOCK_SEQPACKET socketpair.
    public enum Message {
        /// Worker to supervisor: every listener is in the loop and requests are answered.
        public static let ready = "ready"
        /// Supervisor to worker: stop accepting, finish what is in flight, exit.
        public static let drain = "drain"
    }
}
