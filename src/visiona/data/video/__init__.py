"""Video as a source and an output: files, webcams, streams, image sequences; writers; synthetic tracks."""
