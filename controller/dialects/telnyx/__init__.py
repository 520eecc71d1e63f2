"""The Telnyx Call Control face: no markup; calls wait for REST commands (/v2/calls,
/v2/conferences) and every call and conference event is a JSON webhook signed with
Ed25519, as Telnyx sends them."""
