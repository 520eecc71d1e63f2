"""What a SIP phone's INVITE leaves on a mod_sofia channel (pure data).

Variable names, their order and the shape of their values follow the
captures (a SIPp phone calling FreeSWITCH 1.11 over UDP on loopback); the
values are computed from the simulated call so nothing is copied verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SipLeg:
    caller_id: str
    caller_name: str
    destination: str
    port: int  # the phone's SIP port, part of the channel name
    call_id: str
    from_tag: str
    to_tag: str
    session_id: int
    local_media_port: int
    remote_media_port: int
    ssrc: int
    sdp_session: int


def channel_name(leg: SipLeg) -> str:
    return f"sofia/internal/{leg.caller_id}@127.0.0.1:{leg.port}"


def _remote_sdp(leg: SipLeg) -> str:
    return (
        "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n"
        "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {leg.remote_media_port} RTP/AVP 8 101\r\n"
        "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
    )


def _local_sdp(leg: SipLeg) -> str:
    return (
        f"v=0\r\no=FreeSWITCH {leg.sdp_session} {leg.sdp_session + 1} IN IP4 127.0.0.1\r\n"
        "s=FreeSWITCH\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {leg.local_media_port} RTP/AVP 8 101\r\n"
        "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
        "a=ptime:20\r\na=sendrecv\r\n"
    )


def invite_variables(leg: SipLeg, uuid: str, invite_us: int) -> list[tuple[str, str]]:
    """Variables set while the INVITE is processed, before the dialplan runs."""
    host = "127.0.0.1"
    user, dest, port = leg.caller_id, leg.destination, str(leg.port)
    return [
        ("direction", "inbound"),
        ("uuid", uuid),
        ("session_id", str(leg.session_id)),
        ("sip_from_user", user),
        ("sip_from_port", port),
        ("sip_from_uri", f"{user}@{host}:{port}"),
        ("sip_from_host", host),
        ("video_media_flow", "disabled"),
        ("text_media_flow", "disabled"),
        ("channel_name", channel_name(leg)),
        ("sip_call_id", leg.call_id),
        ("sip_local_network_addr", host),
        ("sip_network_ip", host),
        ("sip_network_port", port),
        ("sip_invite_stamp", str(invite_us)),
        ("sip_received_ip", host),
        ("sip_received_port", port),
        ("sip_via_protocol", "udp"),
        ("sip_from_user_stripped", user),
        ("sip_from_tag", leg.from_tag),
        ("sofia_profile_name", "internal"),
        ("sofia_profile_url", f"sip:mod_sofia@{host}:5060"),
        ("recovery_profile_name", "internal"),
        ("sip_full_via", f"SIP/2.0/UDP {host}:{port};branch=z9hG4bK-{leg.call_id[:5]}-1-0"),
        ("sip_from_display", leg.caller_name),
        ("sip_full_from", f'"{leg.caller_name}" <sip:{user}@{host}:{port}>;tag={leg.from_tag}'),
        ("sip_full_to", f"<sip:{dest}@{host}:5060>"),
        ("sip_req_user", dest),
        ("sip_req_port", "5060"),
        ("sip_req_uri", f"{dest}@{host}:5060"),
        ("sip_req_host", host),
        ("sip_to_user", dest),
        ("sip_to_port", "5060"),
        ("sip_to_uri", f"{dest}@{host}:5060"),
        ("sip_to_host", host),
        ("sip_contact_user", user),
        ("sip_contact_port", port),
        ("sip_contact_uri", f"{user}@{host}:{port}"),
        ("sip_contact_host", host),
        ("sip_subject", "capture"),
        ("sip_via_host", host),
        ("sip_via_port", port),
        ("max_forwards", "70"),
        ("switch_r_sdp", _remote_sdp(leg)),
        ("ep_codec_string", "CORE_PCM_MODULE.PCMA@8000h@20i@64000b"),
        ("rtp_use_codec_string", "PCMU,PCMA"),
        ("remote_video_media_flow", "inactive"),
        ("remote_text_media_flow", "inactive"),
        ("remote_audio_media_flow", "sendrecv"),
        ("audio_media_flow", "sendrecv"),
        # from the offer's c=/m= lines, so known before any answer (05a)
        ("remote_media_ip", "127.0.0.1"),
        ("remote_media_port", str(leg.remote_media_port)),
        ("rtp_audio_recv_pt", "8"),
        ("rtp_use_codec_name", "PCMA"),
        ("rtp_use_codec_rate", "8000"),
        ("rtp_use_codec_ptime", "20"),
        ("rtp_use_codec_channels", "1"),
        ("rtp_last_audio_codec_string", "PCMA@8000h@20i@1c"),
        ("read_codec", "PCMA"),
        ("original_read_codec", "PCMA"),
        ("read_rate", "8000"),
        ("original_read_rate", "8000"),
        ("write_codec", "PCMA"),
        ("write_rate", "8000"),
        ("dtmf_type", "rfc2833"),
        ("endpoint_disposition", "RECEIVED"),
    ]


def media_variables(leg: SipLeg) -> list[tuple[str, str]]:
    """Set when the 200 OK with FreeSWITCH's SDP goes out (answer or pre-answer)."""
    return [
        ("rtp_local_sdp_str", _local_sdp(leg)),
        ("local_media_ip", "127.0.0.1"),
        ("local_media_port", str(leg.local_media_port)),
        ("advertised_media_ip", "127.0.0.1"),
        ("rtp_use_timer_name", "soft"),
        ("rtp_use_pt", "8"),
        ("rtp_use_ssrc", str(leg.ssrc)),
        ("rtp_2833_send_payload", "101"),
        ("rtp_2833_recv_payload", "101"),
    ]


def answered_variables(leg: SipLeg) -> list[tuple[str, str]]:
    """Set when the phone ACKs FreeSWITCH's 200 OK."""
    host, user, dest, port = "127.0.0.1", leg.caller_id, leg.destination, str(leg.port)
    return [
        ("endpoint_disposition", "ANSWER"),
        ("sip_to_tag", leg.to_tag),
        ("sip_from_tag", leg.from_tag),
        ("sip_cseq", "1"),
        ("sip_call_id", leg.call_id),
        ("sip_full_via", f"SIP/2.0/UDP {host}:{port};branch=z9hG4bK-{leg.call_id[:5]}-1-10"),
        ("sip_from_display", leg.caller_name),
        ("sip_full_from", f'"{leg.caller_name}" <sip:{user}@{host}:{port}>;tag={leg.from_tag}'),
        ("sip_full_to", f"<sip:{dest}@{host}:5060>;tag={leg.to_tag}"),
    ]


def bye_variables() -> list[tuple[str, str]]:
    """Set by sofia when the phone ends the call with a BYE."""
    return [
        ("sip_term_status", "200"),
        ("proto_specific_hangup_cause", "sip:200"),
        ("sip_term_cause", "16"),
    ]


def cancel_variables() -> list[tuple[str, str]]:
    """Set by sofia when the phone CANCELs its INVITE before the answer."""
    return [
        ("sip_hangup_disposition", "recv_cancel"),
        ("sip_invite_failure_status", "487"),
        ("sip_invite_failure_phrase", "CANCEL"),
    ]


def hangup_disposition(answered: bool, by_phone: bool) -> tuple[str, str]:
    """Set by sofia's on_hangup, after CHANNEL_HANGUP has fired (05b: that event
    lacks it even when the phone sent the BYE, HANGUP_COMPLETE has it)."""
    if by_phone:
        return ("sip_hangup_disposition", "recv_bye")
    return ("sip_hangup_disposition", "send_bye" if answered else "send_refuse")


def rtp_stats_variables(packets_in: int, packets_out: int) -> list[tuple[str, str]]:
    """The RTP statistics sofia adds at hangup (values from the simulated duration)."""
    return [
        ("rtp_audio_in_raw_bytes", str(packets_in * 172)),
        ("rtp_audio_in_media_bytes", str(packets_in * 160)),
        ("rtp_audio_in_packet_count", str(packets_in)),
        ("rtp_audio_in_media_packet_count", str(packets_in)),
        ("rtp_audio_in_skip_packet_count", "0"),
        ("rtp_audio_in_jitter_packet_count", "0"),
        ("rtp_audio_in_dtmf_packet_count", "0"),
        ("rtp_audio_in_cng_packet_count", "0"),
        ("rtp_audio_in_flush_packet_count", "0"),
        ("rtp_audio_in_largest_jb_size", "0"),
        ("rtp_audio_in_jitter_min_variance", "0.00"),
        ("rtp_audio_in_jitter_max_variance", "0.00"),
        ("rtp_audio_in_jitter_loss_rate", "0.00"),
        ("rtp_audio_in_jitter_burst_rate", "0.00"),
        ("rtp_audio_in_mean_interval", "20.00"),
        ("rtp_audio_in_flaw_total", "0"),
        ("rtp_audio_in_quality_percentage", "100.00"),
        ("rtp_audio_in_mos", "4.50"),
        ("rtp_audio_out_raw_bytes", str(packets_out * 172)),
        ("rtp_audio_out_media_bytes", str(packets_out * 172)),
        ("rtp_audio_out_packet_count", str(packets_out)),
        ("rtp_audio_out_media_packet_count", str(packets_out)),
        ("rtp_audio_out_skip_packet_count", "0"),
        ("rtp_audio_out_dtmf_packet_count", "0"),
        ("rtp_audio_out_cng_packet_count", "0"),
        ("rtp_audio_rtcp_packet_count", "0"),
        ("rtp_audio_rtcp_octet_count", "0"),
    ]
