/// What the supervisor knows of one worker process.
struct WorkerHandle {
    enum State: Equatable {
        /// Spawned; its "ready" has not arrived yet.
        case starting(deadline: UInt64)
        case ready
        /// Told to drain; killed if still alive at the deadline.
        case draining(deadline: UInt64)
    }

    let pid: Int32
    /// Position in its generation: decides which listening sockets it serves.
    let index: Int
    let generation: Int
    /// Its block in the shared-memory stats segment.
    let statsSlot: Int
    /// The supervisor's end of the worker's control socketpair.
    var control: Int32
    var state: State
    let startedAt: UInt64
}
