"""People: platform users matched to e-mail addresses, conversation references, one-time sign-in links."""
