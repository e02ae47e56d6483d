"""The refined tables in the Glue Data Catalog: one owner per concern.

The deployment declares each table (:func:`table_input`: the Pulumi program, or the local
deployment); the job owns its partitions (:func:`publish`, for the days it published);
the crawler owns nothing here (it catalogues the raw layer). Every function takes the
table's description (:class:`glue.schema.Table`), so the day's table and the tables of the
datasets ahead are kept by the same code, against AWS or the emulator alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import boto3

from glue.schema import DAY_TABLE, Column, Table
from services.pipeline.lake.refined import Day, PartitionValues

#: BatchCreatePartition and BatchUpdatePartition take at most 100 entries.
BATCH = 100

PARQUET_STORAGE: dict[str, Any] = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "Parameters": {"serialization.format": "1"},
    },
}


@dataclass(frozen=True)
class CatalogResult:
    table: str
    partitions_created: int
    partitions_updated: int
    partitions_deleted: int


def publish(
    database: str,
    table: str,
    location: str,
    days: Iterable[Day],
    partitions: Sequence[PartitionValues],
    client: Any | None = None,
    *,
    schema: Table = DAY_TABLE,
) -> CatalogResult:
    """The partitions of ``database.table`` (described by ``schema``) on ``days`` become
    ``partitions``."""
    glue = client or boto3.client("glue")
    wanted = set(partitions)
    days = set(days)
    existing = {
        tuple(p["Values"])
        for p in existing_partitions(glue, database, table, days)
        if (p["Values"][0], p["Values"][1]) in days
    }
    # New partitions first, then the kept ones, and the ones the days no longer have last:
    # the job has already put every new file in place, so no partition ever points at a
    # file that is not there yet, and a day never loses a ticker it still has.
    stale = sorted(existing - wanted)
    new = sorted(wanted - existing)
    for chunk in _chunks(new):
        response = glue.batch_create_partition(
            DatabaseName=database,
            TableName=table,
            PartitionInputList=[_partition_input(location, v, schema) for v in chunk],
        )
        _raise_errors(response, "create")
    kept = sorted(wanted & existing)
    for chunk in _chunks(kept):
        response = glue.batch_update_partition(
            DatabaseName=database,
            TableName=table,
            Entries=[
                {
                    "PartitionValueList": list(v),
                    "PartitionInput": _partition_input(location, v, schema),
                }
                for v in chunk
            ],
        )
        _raise_errors(response, "update")
    for values in stale:
        glue.delete_partition(DatabaseName=database, TableName=table, PartitionValues=list(values))
    return CatalogResult(f"{database}.{table}", len(new), len(kept), len(stale))


def ensure_database(glue: Any, database: str) -> None:
    """``default`` exists in most accounts but not all: create it when missing."""
    try:
        glue.get_database(Name=database)
    except glue.exceptions.EntityNotFoundException:
        glue.create_database(DatabaseInput={"Name": database})


def table_input(table: str, location: str, schema: Table = DAY_TABLE) -> dict[str, Any]:
    """The Glue ``TableInput`` of a refined table (external, Parquet, partitioned)."""
    return {
        "Name": table,
        "Description": schema.description,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
        "PartitionKeys": [_column(c) for c in schema.partitions],
        "StorageDescriptor": {
            "Columns": [_column(c) for c in schema.columns],
            "Location": location.rstrip("/") + "/",
            **PARQUET_STORAGE,
        },
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


def existing_partitions(
    glue: Any, database: str, table: str, days: Iterable[Day]
) -> list[dict[str, Any]]:
    """The table's partitions on those days (the expression narrows it on AWS)."""
    dts = sorted({day[0] for day in days})
    expression = f"dt between '{dts[0]}' and '{dts[-1]}'" if dts else ""
    found: list[dict[str, Any]] = []
    paginator = glue.get_paginator("get_partitions")
    for page in paginator.paginate(DatabaseName=database, TableName=table, Expression=expression):
        found.extend(page.get("Partitions", []))
    return found


def _partition_input(location: str, values: PartitionValues, schema: Table) -> dict[str, Any]:
    path = "/".join(f"{c.name}={v}" for c, v in zip(schema.partitions, values, strict=True))
    return {
        "Values": list(values),
        "StorageDescriptor": {
            "Columns": [_column(c) for c in schema.columns],
            "Location": f"{location.rstrip('/')}/{path}/",
            **PARQUET_STORAGE,
        },
    }


def _column(column: Column) -> dict[str, str]:
    return {"Name": column.name, "Type": column.type, "Comment": column.meaning}


def _chunks(items: Sequence[PartitionValues]) -> Iterable[Sequence[PartitionValues]]:
    return (items[i : i + BATCH] for i in range(0, len(items), BATCH))


def _raise_errors(response: dict[str, Any], action: str) -> None:
    errors = response.get("Errors", [])
    if errors:
        first = errors[0]
        raise RuntimeError(
            f"Glue could not {action} {len(errors)} partition(s), first "
            f"{first.get('PartitionValues')}: {first.get('ErrorDetail', {}).get('ErrorMessage')}"
        )
