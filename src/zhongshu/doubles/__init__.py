"""Local doubles of the platforms: real HTTP servers on 127.0.0.1 speaking each platform's contract
(signing, paging, error codes), with failure switches (delay, throttle, outage, malformed).

The tests drive them (tests/platforms/ imports these), and `zhongshu loadtest` runs them in its own
process for a sandbox's shops to pull from: a sandbox never reaches a real platform.
"""
