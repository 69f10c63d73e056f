from clarimon.api.identity import Caller, identify

HEADER = ("AWS4-HMAC-SHA256 Credential=AKIDALICE/20261125/eu-west-1/sagemaker/aws4_request, "
          "SignedHeaders=host;x-amz-date, Signature=abc")


def test_region_and_account_from_credential_scope() -> None:
    caller = identify(HEADER, default_region="us-east-1", default_account="000000000000",
                      accounts={"AKIDALICE": "111111111111"})
    assert caller == Caller("111111111111", "eu-west-1")  # AKIDALICE maps to its account


def test_unmapped_key_gets_default_account() -> None:
    caller = identify(HEADER, default_region="us-east-1", default_account="000000000000", accounts={})
    assert (caller.account, caller.region) == ("000000000000", "eu-west-1")


def test_missing_or_malformed_header_gets_defaults() -> None:
    for header in (None, "", "Bearer token", "AWS4-HMAC-SHA256 Credential=short"):
        caller = identify(header, default_region="ap-south-1", default_account="000000000000", accounts={})
        assert (caller.account, caller.region) == ("000000000000", "ap-south-1")
