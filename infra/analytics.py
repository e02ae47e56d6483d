"""Analytics: the Athena workgroup, results enforced into the artifacts bucket, scans capped."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.config import Stack
from infra.storage import Storage
from services.tool.analysis.queries import saved_queries
from services.tool.analysis.views import views


class Analytics(pulumi.ComponentResource):
    """Where the smoke query and the analysts' queries run; the views read ``table``."""

    def __init__(self, name: str, stack: Stack, storage: Storage, table: pulumi.Resource):
        super().__init__("bovespa:analytics:Analytics", name)
        deployment = stack.deployment
        # The workgroup's settings override the client's: results always land in the
        # artifacts bucket, encrypted, and no query may scan more than the cutoff.
        self.workgroup = aws.athena.Workgroup(
            deployment.workgroup,
            name=deployment.workgroup,
            force_destroy=True,
            configuration={
                "enforce_workgroup_configuration": True,
                "publish_cloudwatch_metrics_enabled": True,
                "bytes_scanned_cutoff_per_query": stack.config.athena_bytes_scanned_cutoff,
                "engine_version": {"selected_engine_version": "Athena engine version 3"},
                "result_configuration": {
                    "output_location": storage.athena_results,
                    "encryption_configuration": {"encryption_option": "SSE_S3"},
                },
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.named_queries = [
            aws.athena.NamedQuery(
                f"{deployment.prefix}-{saved.name}", name=saved.name, query=saved.sql,
                description=saved.description[:1024], database=deployment.database,
                workgroup=self.workgroup.name, opts=pulumi.ResourceOptions(parent=self),
            )
            for saved in saved_queries().values()
        ]  # fmt: skip
        self.views = [
            aws.glue.CatalogTable(
                f"{deployment.prefix}-{view.name}",
                name=view.name,
                database_name=deployment.database,
                description=view.description[:2048],
                table_type="VIRTUAL_VIEW",
                view_original_text=view.presto_view_text(),
                view_expanded_text="/* Presto View */",
                parameters={"presto_view": "true", "comment": "Presto View"},
                storage_descriptor={
                    "columns": [{"name": name, "type": kind} for name, kind in view.hive_columns()]
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[table]),
            )
            for view in views().values()
        ]
        self.register_outputs({"workgroup": self.workgroup.name})
