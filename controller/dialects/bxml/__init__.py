"""The Bandwidth face: BXML in, Bandwidth's JSON webhooks and /api/v2 REST shapes out."""
