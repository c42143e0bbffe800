"""The Qt-free engine: capture, pose estimation, exercise analysis, events."""
