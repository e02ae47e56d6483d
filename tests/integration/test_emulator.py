"""The local emulator's lifecycle, on a process of its own (not the session's)."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from services.tool.local.emulator import Emulator, free_port, port_taken
from tests.aws_clients import athena_rows, aws


def test_a_restart_keeps_the_catalogue_and_a_lost_state_or_a_taken_port_is_no_dead_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    emulator = Emulator(port=free_port(), state_dir=tmp_path / "ministack")
    request.addfinalizer(emulator.stop)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint)  # what `aws` talks to
    emulator.start()
    s3, glue, athena = aws("s3"), aws("glue"), aws("athena")
    s3.create_bucket(Bucket="lake")
    s3.put_object(Bucket="lake", Key="t/part.parquet", Body=b"PAR1")
    glue.create_database(DatabaseInput={"Name": "db"})
    glue.create_table(DatabaseName="db", TableInput={"Name": "t"})
    output = {"ResultConfiguration": {"OutputLocation": "s3://lake/results/"}}
    athena.create_work_group(Name="wg", Configuration=output)
    sql = "SELECT CAST(2.5 AS DECIMAL(5, 2)) * 4"  # a DECIMAL result: MiniStack could not
    assert athena_rows("wg", sql) == [["10.00"]]  # save it, and lost the workgroup with it
    emulator.stop()  # `bovespa local down`, `local up`, then `bovespa query`
    emulator.start()
    assert athena_rows("wg", sql) == [["10.00"]]
    assert glue.get_table(DatabaseName="db", Name="t")["Table"]["Name"] == "t"
    assert emulator.path_of("s3://lake/t/part.parquet").read_bytes() == b"PAR1"  # Files:

    orphaned = emulator.pids()  # `rm -rf .state` under it: `local up` (and `make demo`)
    shutil.rmtree(emulator.state_dir)  # restart it, `local down` stops it
    assert emulator.status().startswith("running without its .state")
    emulator.start()
    assert emulator.is_up()
    assert len(set(emulator.pids()) - set(orphaned)) == 2  # two new processes
    shutil.rmtree(emulator.state_dir)
    assert emulator.stop()
    assert emulator.pids() == []
    assert not port_taken(emulator.host, emulator.port)
    with socket.create_server((emulator.host, emulator.port)):  # now another process's
        assert "free it, or point AWS_ENDPOINT_URL at" in emulator.status()
        with pytest.raises(RuntimeError, match="free it, or point AWS_ENDPOINT_URL at"):
            emulator.start()
