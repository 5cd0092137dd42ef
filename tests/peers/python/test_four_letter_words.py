"""Four-letter words over a raw socket on the client port, as monitoring scripts and probes use
them (the test config whitelists all of them)."""

import re

from zkpeer import four_letter_word


def test_ruok(zk_address):
    assert four_letter_word(*zk_address, "ruok") == "imok"


def test_srvr(zk_address, zk):
    reply = four_letter_word(*zk_address, "srvr")
    assert "Zookeeper version:" in reply
    assert "Mode: standalone" in reply
    assert re.search(r"^Node count: \d+$", reply, re.M)
    assert re.search(r"^Zxid: 0x[0-9a-f]+$", reply, re.M)


def test_mntr(zk_address, zk, base):
    reply = four_letter_word(*zk_address, "mntr")
    metrics = dict(line.split("\t", 1) for line in reply.splitlines() if "\t" in line)
    assert "zk_znode_count" in metrics
    # the root, /zookeeper, /zookeeper/quota, /zookeeper/config, /peers-python and this test's base
    assert int(metrics["zk_znode_count"]) >= 6
    assert metrics["zk_server_state"] == "standalone"
    assert int(metrics["zk_num_alive_connections"]) >= 1


def test_isro(zk_address):
    assert four_letter_word(*zk_address, "isro") == "rw"


def test_four_letter_words_do_not_disturb_sessions(zk_address, zk, base):
    zk.create(f"{base}/before")
    for word in ["ruok", "srvr", "mntr", "isro"]:
        four_letter_word(*zk_address, word)
    zk.create(f"{base}/after")
    assert sorted(zk.get_children(base)) == ["after", "before"]
