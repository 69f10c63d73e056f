"""Request documents for tests: complete ones (every member of the input shape) and minimal ones."""

from __future__ import annotations

from typing import Any

ROLE = "arn:aws:iam::123456789012:role/service-role/clarimon-monitor"
CLARIFY_IMAGE = "205585389593.dkr.ecr.us-east-1.amazonaws.com/sagemaker-clarify-processing:1.0"


def _input_attributes() -> dict[str, Any]:
    return {
        "LocalPath": "/opt/ml/processing/input/endpoint",
        "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated",
        "FeaturesAttribute": "features",
        "InferenceAttribute": "predicted_label",
        "ProbabilityAttribute": "probability",
        "ProbabilityThresholdAttribute": 0.5,
        "StartTimeOffset": "-PT2H",
        "EndTimeOffset": "-PT1H",
        "ExcludeFeaturesAttribute": "1,3",
    }


def full_definition(name: str, source: str = "endpoint", endpoint: str = "churn-endpoint") -> dict[str, Any]:
    """A CreateModelExplainabilityJobDefinition request naming every member (`source`: endpoint|batch)."""
    if source == "endpoint":
        job_input = {"EndpointInput": {"EndpointName": endpoint, **_input_attributes()}}
        baseline = {"ConstraintsResource": {"S3Uri": "s3://bucket/baselining/analysis.json"}}
    else:
        job_input = {
            "BatchTransformInput": {
                "DataCapturedDestinationS3Uri": "s3://bucket/batch-capture",
                "DatasetFormat": {"Csv": {"Header": True}},
                **_input_attributes(),
            }
        }
        baseline = {"BaseliningJobName": "baselining-job-1"}
    return {
        "JobDefinitionName": name,
        "ModelExplainabilityBaselineConfig": baseline,
        "ModelExplainabilityAppSpecification": {
            "ImageUri": CLARIFY_IMAGE,
            "ConfigUri": f"s3://bucket/{name}/analysis_config.json",
            "Environment": {"publish_cloudwatch_metrics": "Disabled", "LOG_LEVEL": "debug"},
        },
        "ModelExplainabilityJobInput": job_input,
        "ModelExplainabilityJobOutputConfig": {
            "MonitoringOutputs": [
                {"S3Output": {"S3Uri": "s3://bucket/results", "LocalPath": "/opt/ml/processing/output",
                              "S3UploadMode": "EndOfJob"}}
            ],
            "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        },
        "JobResources": {
            "ClusterConfig": {
                "InstanceCount": 2,
                "InstanceType": "ml.m5.xlarge",
                "VolumeSizeInGB": 30,
                "VolumeKmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/volume-key",
            }
        },
        "NetworkConfig": {
            "EnableInterContainerTrafficEncryption": True,
            "EnableNetworkIsolation": False,
            "VpcConfig": {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123", "subnet-4567"]},
        },
        "RoleArn": ROLE,
        "StoppingCondition": {"MaxRuntimeInSeconds": 1800},
        "Tags": [{"Key": "team", "Value": "risk"}, {"Key": "cost-center", "Value": "42"}],
    }


def minimal_definition(name: str, endpoint: str = "churn-endpoint") -> dict[str, Any]:
    """A CreateModelExplainabilityJobDefinition request with only the required members."""
    return {
        "JobDefinitionName": name,
        "ModelExplainabilityAppSpecification": {"ImageUri": CLARIFY_IMAGE, "ConfigUri": "s3://bucket/config.json"},
        "ModelExplainabilityJobInput": {
            "EndpointInput": {"EndpointName": endpoint, "LocalPath": "/opt/ml/processing/input/endpoint"}
        },
        "ModelExplainabilityJobOutputConfig": {
            "MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://bucket/out", "LocalPath": "/opt/ml/processing/output"}}]
        },
        "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}},
        "RoleArn": ROLE,
    }
