"""Discord: the webhook client (`webhook`) and the message a clip becomes (`embed`)."""
