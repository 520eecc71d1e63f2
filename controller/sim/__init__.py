"""FreeSWITCH simulator (wire-level Event Socket + mod_conference model)."""
