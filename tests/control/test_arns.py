from clarimon.control import arns


def test_parse_and_canonical() -> None:
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:model-explainability-job-definition/My-Def"
    parsed = arns.parse(arn)
    assert parsed == arns.ParsedArn("eu-west-1", "123456789012", "model-explainability-job-definition", "My-Def")
    assert arns.canonical(arn) == arn.replace("My-Def", "my-def")


def test_not_sagemaker_arns() -> None:
    for text in ("", "arn:aws:s3:::bucket", "arn:aws:sagemaker:us-east-1:123:model/m"):
        assert arns.parse(text) is None
        assert arns.canonical(text) is None
