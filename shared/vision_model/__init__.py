"""The frame classifiers behind `shared.domain.vision.SceneClassifier`: Gemini through
google-genai (`gemini`), and a FAKE one for the local stack, tests and benchmarks (`fake`)."""
