"""The gettext catalogs (<code>/LC_MESSAGES/dcgan.po and .mo) and their tool (__main__.py)."""
