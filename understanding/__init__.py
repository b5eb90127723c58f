"""Understanding customers' text: a sentence encoder shipped in its wheel and the intent classifier built on it."""
