"""Rasa input channels of 小智客服 and the cross-channel customer identity they share."""
