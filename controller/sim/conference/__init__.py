"""mod_conference model: rooms, members, the `conference` app and API."""
