"""Pose estimation: BlazePose through LiteRT, ONNX Runtime or MediaPipe Tasks."""
