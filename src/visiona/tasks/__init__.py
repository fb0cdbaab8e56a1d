"""Tasks: classify (detect, segment, pose, faces, embed, depth follow)."""
