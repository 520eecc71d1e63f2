"""The only place that spells FreeSWITCH commands.

Every API command the product sends (``conference ...``, ``uuid_*``,
``originate``, ``sched_api``...) and every dialplan application it runs on a
call (``set``, ``conference``, ``playback``...) is built by a typed function
here, which validates and quotes its arguments; replies are read here too.
Pure: strings in, strings out. Sending them is ``controller.esl``'s job.

- ``names``: application room names <-> FreeSWITCH room names
- ``args``: argument validation and quoting (mod_conference's argument splitter)
- ``conference``: ``conference <room> <subcommand>`` API commands
- ``channel``: ``uuid_*`` commands on one channel
- ``scheduler``: ``sched_api`` / ``sched_del`` / ``show tasks``
- ``apps``: dialplan applications run on a call's outbound socket
- ``replies``: reply texts and listings read into values
"""
