"""Hot module replacement, server side: the file watcher, the `hot_update` pass of each environment,
the propagation to HMR boundaries and the hot channel that carries Vite's payloads to runtimes."""
