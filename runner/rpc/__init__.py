"""The RPC between an environment and the module runners in its runtimes: the protocol, the wire
format, the transport base class, the host's client of one runtime, the exports proxy built on
it, and the WebSocket server that serves an environment to remote runners."""
