"""The refined tables in the Glue Data Catalog: the deployment declares each table
(:func:`table_input`), the job owns its partitions (:func:`publish`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import boto3

from glue.schema import DAY_TABLE, PARTITION_COLUMNS, Column, Table
from services.pipeline.lake.refined import Day, PartitionValues

#: BatchCreatePartition and BatchUpdatePartition take at most 100 entries.
BATCH = 100
#: What makes a table "external, Parquet": its type, parameters and storage formats.
TABLE_TYPE = "EXTERNAL_TABLE"
TABLE_PARAMETERS = {"classification": "parquet", "EXTERNAL": "TRUE"}
PARQUET_STORAGE: dict[str, Any] = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "Parameters": {"serialization.format": "1"},
    },
}


def publish(
    database: str, table: str, location: str, days: Iterable[Day],
    partitions: Sequence[PartitionValues], client: Any | None = None, *, schema: Table = DAY_TABLE,
) -> None:  # fmt: skip
    """The partitions of ``database.table`` on ``days`` become ``partitions``: created and
    updated first, the ones the days no longer have deleted last (after the files)."""
    glue = client or boto3.client("glue")
    days, wanted = set(days), set(partitions)
    dts = sorted(dt for dt, _ in days)
    pages = glue.get_paginator("get_partitions").paginate(
        DatabaseName=database, TableName=table, Expression=f"dt between '{dts[0]}' and '{dts[-1]}'"
    )
    existing = {
        tuple(p["Values"])
        for page in pages
        for p in page.get("Partitions", [])
        if tuple(p["Values"][:2]) in days
    }
    names = {"DatabaseName": database, "TableName": table}

    def described(values: PartitionValues) -> dict[str, Any]:
        path = "".join(f"{c.name}={v}/" for c, v in zip(PARTITION_COLUMNS, values, strict=True))
        return {"Values": list(values), **_storage(f"{location.rstrip('/')}/{path}", schema)}

    new, kept = sorted(wanted - existing), sorted(wanted & existing)
    for chunk in (new[i : i + BATCH] for i in range(0, len(new), BATCH)):
        inputs = [described(v) for v in chunk]
        _raise_errors(glue.batch_create_partition(**names, PartitionInputList=inputs), "create")
    for chunk in (kept[i : i + BATCH] for i in range(0, len(kept), BATCH)):
        entries = [{"PartitionValueList": list(v), "PartitionInput": described(v)} for v in chunk]
        _raise_errors(glue.batch_update_partition(**names, Entries=entries), "update")
    for values in sorted(existing - wanted):
        glue.delete_partition(**names, PartitionValues=list(values))


def ensure_database(glue: Any, database: str) -> None:
    """``default`` exists in most accounts but not all: create it when missing."""
    try:
        glue.get_database(Name=database)
    except glue.exceptions.EntityNotFoundException:
        glue.create_database(DatabaseInput={"Name": database})


def table_input(table: str, location: str, schema: Table = DAY_TABLE) -> dict[str, Any]:
    """A refined table's ``TableInput``: the local deployment's, and the Pulumi program's."""
    return {
        "Name": table,
        "Description": schema.description,
        "TableType": TABLE_TYPE,
        "Parameters": TABLE_PARAMETERS,
        "PartitionKeys": [_column(c) for c in PARTITION_COLUMNS],
        **_storage(location.rstrip("/") + "/", schema),
    }


def upsert_table(
    glue: Any, database: str, table: str, location: str, schema: Table = DAY_TABLE
) -> bool:
    """Create the table, or bring an existing one to the current schema; True if created."""
    described = table_input(table, location, schema)
    try:
        glue.create_table(DatabaseName=database, TableInput=described)
        return True
    except glue.exceptions.AlreadyExistsException:
        glue.update_table(DatabaseName=database, TableInput=described)
        return False


def _storage(location: str, schema: Table) -> dict[str, Any]:
    columns = [_column(c) for c in schema.columns]
    return {"StorageDescriptor": {"Columns": columns, "Location": location, **PARQUET_STORAGE}}


def _column(column: Column) -> dict[str, str]:
    return {"Name": column.name, "Type": column.type, "Comment": column.meaning}


def _raise_errors(response: dict[str, Any], action: str) -> None:
    if errors := response.get("Errors", []):
        first = errors[0]
        raise RuntimeError(
            f"Glue could not {action} {len(errors)} partition(s), first "
            f"{first.get('PartitionValues')}: {first.get('ErrorDetail', {}).get('ErrorMessage')}"
        )
