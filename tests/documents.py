"""Request documents for tests: complete ones (every member of the input shape) and minimal ones."""

from __future__ import annotations

import textwrap
from typing import Any

ROLE = "arn:aws:iam::123456789012:role/service-role/clarimon-monitor"
SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

# An inference.py for the scikit-learn container that answers with probabilities.
PROBABILITY_ENTRY_POINT = textwrap.dedent('''
    import os

    import joblib


    def model_fn(model_dir):
        return joblib.load(os.path.join(model_dir, "model.joblib"))


    def predict_fn(data, model):
        return model.predict_proba(data)
''')
# A model that answers what its process can see: its environment (as Python and as the kernel holds it), its
# user, and what opening each path of the request gives. {"allocate": N} asks for N MB; ALLOCATE_MB_AT_LOAD in
# its Environment, when it loads.
PROBE_ENTRY_POINT = '''
import json
import os


def model_fn(model_dir):
    if os.environ.get("ALLOCATE_MB_AT_LOAD"):
        return len(bytearray(int(os.environ["ALLOCATE_MB_AT_LOAD"]) * 1024 * 1024))
    return None


def input_fn(body, content_type):
    return json.loads(body)


def predict_fn(request, model):
    if "allocate" in request:
        return len(bytearray(request["allocate"] * 1024 * 1024))
    opened = {}
    for path in request.get("open", []):
        try:
            with open(path, "rb") as file:
                opened[path] = file.read(64).decode("latin-1")
        except OSError as error:
            opened[path] = type(error).__name__
    try:
        with open("/proc/self/environ", "rb") as file:
            initial = file.read().decode("latin-1")
    except OSError as error:
        initial = type(error).__name__
    return {"environ": dict(os.environ), "initial": initial, "uid": os.getuid(), "opened": opened}


def output_fn(prediction, accept):
    return json.dumps(prediction), "application/json"
'''
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
        baseline: dict[str, Any] = {"ConstraintsResource": {"S3Uri": "s3://bucket/baselining/analysis.json"}}
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


def model(name: str, image: str = SKLEARN_IMAGE) -> dict[str, Any]:
    """A CreateModel request with the members a monitored model uses."""
    return {
        "ModelName": name,
        "PrimaryContainer": {
            "ContainerHostname": "main",
            "Image": image,
            "Mode": "SingleModel",
            "ModelDataUrl": f"s3://bucket/models/{name}/model.tar.gz",
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"},
        },
        "ExecutionRoleArn": ROLE,
        "VpcConfig": {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123"]},
        "EnableNetworkIsolation": False,
        "Tags": [{"Key": "team", "Value": "risk"}],
    }


def endpoint_config(name: str, model_name: str) -> dict[str, Any]:
    """A CreateEndpointConfig request with data capture, as Model Monitor needs it."""
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {"VariantName": "AllTraffic", "ModelName": model_name, "InitialInstanceCount": 1,
             "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0},
        ],
        "DataCaptureConfig": {
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": "s3://bucket/data-capture",
            "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/capture",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
        },
        "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/volume",
        "Tags": [{"Key": "team", "Value": "risk"}],
    }


def clarify_job(name: str, image: str = CLARIFY_IMAGE, config: str = "s3://bucket/clarify/config/analysis_config.json",
        data: str = "s3://bucket/clarify/data/train.csv") -> dict[str, Any]:
    """A CreateProcessingJob request as the sagemaker SDK's SageMakerClarifyProcessor sends it."""
    def s3_input(input_name: str, uri: str, path: str) -> dict[str, Any]:
        return {"InputName": input_name, "AppManaged": False, "S3Input": {
            "S3Uri": uri, "LocalPath": path, "S3DataType": "S3Prefix", "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated", "S3CompressionType": "None"}}

    return {
        "ProcessingJobName": name,
        "ProcessingInputs": [s3_input("dataset", data, "/opt/ml/processing/input/data"),
                             s3_input("analysis_config", config, "/opt/ml/processing/input/config")],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "analysis_result", "AppManaged": False, "S3Output": {
            "S3Uri": f"s3://bucket/clarify/{name}/output", "LocalPath": "/opt/ml/processing/output",
            "S3UploadMode": "EndOfJob"}}]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge",
                                                  "VolumeSizeInGB": 30}},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "AppSpecification": {"ImageUri": image},
        "RoleArn": ROLE,
        "Tags": [{"Key": "team", "Value": "risk"}],
    }
