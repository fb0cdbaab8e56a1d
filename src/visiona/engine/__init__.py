"""Mode engines written once for every task: predict (train, evaluate, export... follow)."""
