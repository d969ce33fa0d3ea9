"""render.py: settings validation, the rendered SAM template, and its command line."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.decode import decode_str

import render

SAM = render.ROOT / ".tools" / "sam" / "bin" / "sam"
EXISTING_TEMPLATE = "# a template deployed earlier\n"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TITILER_* settings from the machine, and no `.env` from the repository."""
    for name in list(os.environ):
        if name.upper().startswith("TITILER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def rendered(monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[str, dict[str, Any]]:
    """Template text and its parsed form for the given TITILER_* variables."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings, api_settings = render.load()
    text = render.render(settings, api_settings, render.DEFAULT_OUTPUT)
    template, problems = decode_str(text)
    assert not problems
    assert template is not None
    return text, dict(template)


def function_properties(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Resources"]["TilerFunction"]["Properties"])


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = render.main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


VARIANTS = list(
    itertools.product(("http", "rest"), ("x86_64", "arm64"), (None, "25"), (False, True))
)


@pytest.mark.parametrize(("api_type", "architecture", "concurrency", "buckets"), VARIANTS)
def test_every_variant_lints_clean(
    monkeypatch: pytest.MonkeyPatch,
    api_type: str,
    architecture: str,
    concurrency: str | None,
    buckets: bool,
) -> None:
    env = {"TITILER_API_TYPE": api_type, "TITILER_ARCHITECTURE": architecture}
    if concurrency:
        env["TITILER_MAX_CONCURRENT"] = concurrency
    if buckets:
        env["TITILER_API_ALLOWED_SOURCES"] = "s3://cog-bucket/tiles/,https://example.com/"
    text, template = rendered(monkeypatch, **env)

    assert render.lint(text) == []
    function = function_properties(template)
    assert function["Architectures"] == [architecture]
    assert function.get("ReservedConcurrentExecutions") == (
        int(concurrency) if concurrency else None
    )
    assert ("Policies" in function) is buckets
    api = template["Resources"]["TilerApi"]
    events = function["Events"]
    assert {event["Properties"]["Path"] for event in events.values()} == {"/", "/{proxy+}"}
    assert {event["Properties"]["Method"] for event in events.values()} == {"ANY"}
    if api_type == "http":
        assert api["Type"] == "AWS::Serverless::HttpApi"
        assert {event["Type"] for event in events.values()} == {"HttpApi"}
    else:
        assert api["Type"] == "AWS::Serverless::Api"
        assert api["Properties"]["BinaryMediaTypes"] == ["*/*"]
        assert api["Properties"]["StageName"] == "dev"
        assert {event["Type"] for event in events.values()} == {"Api"}


@pytest.mark.skipif(not SAM.exists(), reason="aws-sam-cli not installed: run scripts/setup-dev.sh")
@pytest.mark.parametrize("api_type", ["http", "rest"])
def test_sam_validate_lint_accepts_template(tmp_path: Path, api_type: str) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "TITILER_API_TYPE": api_type,
        "TITILER_MAX_CONCURRENT": "10",
        "TITILER_API_ALLOWED_SOURCES": "s3://cog-bucket/",
    }
    output = tmp_path / "template.yaml"
    subprocess.run(
        [sys.executable, str(render.ROOT / "render.py"), "--output", str(output)],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    sam_env = {**env, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [str(SAM), "validate", "--lint", "--template", str(output)],
        cwd=tmp_path,
        env=sam_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout


BAD_SETTINGS = [
    ("TITILER_MEMORY", "64", "128 to 10240"),
    ("TITILER_MEMORY", "20000", "128 to 10240"),
    ("TITILER_MEMORY", "lots", "128 to 10240"),
    ("TITILER_TIMEOUT", "0", "1 to 30"),
    ("TITILER_TIMEOUT", "31", "1 to 30"),
    ("TITILER_TIMEOUT", "900", "API Gateway gives up"),
    ("TITILER_MAX_CONCURRENT", "0", "positive integer"),
    ("TITILER_MAX_CONCURRENT", "-3", "positive integer"),
    ("TITILER_ARCHITECTURE", "aarch64", "x86_64 or arm64"),
    ("TITILER_API_TYPE", "websocket", "http or rest"),
    ("TITILER_LOG_RETENTION_DAYS", "10", "one of 1, 3, 5, 7, 14, 30"),
    ("TITILER_BASE_IMAGE", "my image", "container image reference"),
    ("TITILER_ENV", "{not json", "JSON object"),
    ("TITILER_ENV", '["GDAL_CACHEMAX"]', "JSON object"),
    ("TITILER_ENV", '{"AWS_REGION": "eu-west-1"}', "not a name Lambda accepts"),
    ("TITILER_ENV", '{"VSI_CACHE": true}', "string, a number or null"),
    ("TITILER_ENV", '{"TITILER_API_ALLOWED_SOURCES": "s3://b/"}', "set TITILER_API_ALLOWED"),
    ("TITILER_PROJECT", "My_Tiles", "lowercase letters, digits and hyphens"),
    ("TITILER_STAGE", "dev!", "lowercase letters, digits and hyphens"),
    ("TITILER_API_ALLOWED_SOURCES", "s3://My_Bucket/", "3-63 of a-z 0-9"),
    ("TITILER_API_ALLOWED_SOURCES", "s3://ab/", "3-63 of a-z 0-9"),
    ("TITILER_API_ALLOWED_SOURCES", '["s3://192.168.1.1/"]', "IP address"),
    ("TITILER_API_ALLOWED_SOURCES", "s3://bucket..name/", "two adjacent dots"),
    ("TITILER_API_ALLOWED_SOURCES", "s3://cogs/*/", "wildcards"),
    ("TITILER_API_ALLOWED_SOURCES", '["s3://cogs/"', "not valid JSON"),
]


@pytest.mark.parametrize(("variable", "value", "allowed"), BAD_SETTINGS)
def test_bad_setting_exits_2_and_keeps_template(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    variable: str,
    value: str,
    allowed: str,
) -> None:
    output = tmp_path / "template.yaml"
    output.write_text(EXISTING_TEMPLATE)
    monkeypatch.setenv(variable, value)

    status, out, err = run_main(capsys, "--output", str(output))

    assert status == 2
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith(f"render.py: {variable}")
    assert allowed in line
    assert output.read_text() == EXISTING_TEMPLATE
    assert sorted(path.name for path in tmp_path.iterdir()) == ["template.yaml"]


def test_rest_api_timeout_limit_is_29_seconds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TITILER_API_TYPE", "rest")
    monkeypatch.setenv("TITILER_TIMEOUT", "30")
    status, _, err = run_main(capsys, "--check")
    assert status == 2
    assert err.strip() == (
        "render.py: TITILER_TIMEOUT=30: must be between 1 and 29 (s) for TITILER_API_TYPE=rest; "
        "the API gives up after 29 s"
    )


def test_every_bad_setting_is_reported_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TITILER_MEMORY", "64")
    monkeypatch.setenv("TITILER_ARCHITECTURE", "sparc")
    monkeypatch.setenv("TITILER_LOG_RETENTION_DAYS", "2")
    status, _, err = run_main(capsys, "--check")
    assert status == 2
    variables = [line.split("=")[0] for line in err.splitlines()]
    assert variables == [
        "render.py: TITILER_MEMORY",
        "render.py: TITILER_ARCHITECTURE",
        "render.py: TITILER_LOG_RETENTION_DAYS",
    ]


def test_oversized_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TITILER_API_DESCRIPTION", "x" * 4000)
    status, _, err = run_main(capsys, "--check")
    assert status == 2
    assert "Lambda allows at most 4096" in err


def test_command_line_exit_status_and_untouched_template(tmp_path: Path) -> None:
    output = tmp_path / "template.yaml"
    output.write_text(EXISTING_TEMPLATE)
    result = subprocess.run(
        [sys.executable, str(render.ROOT / "render.py"), "--output", str(output)],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "TITILER_MEMORY": "99999", "TITILER_TIMEOUT": "60"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert [line.split("=")[0] for line in result.stderr.splitlines()] == [
        "render.py: TITILER_MEMORY",
        "render.py: TITILER_TIMEOUT",
    ]
    assert output.read_text() == EXISTING_TEMPLATE


def test_writes_template_and_reports_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    output = tmp_path / "out" / "template.yaml"
    monkeypatch.setenv("TITILER_STAGE", "prod")
    status, out, _ = run_main(capsys, "--output", str(output))
    assert status == 0
    assert out.startswith(f"Wrote {output}\n")
    assert "titiler-lambda-prod" in out
    assert "sam deploy --config-env prod" in out
    template, _ = decode_str(output.read_text())
    assert template is not None
    assert template["Resources"]["TilerFunction"]["Metadata"]["DockerTag"] == "python3.11-prod"
    assert sorted(path.name for path in output.parent.iterdir()) == ["template.yaml"]
    assert output.stat().st_mode & 0o777 == 0o644


def test_check_writes_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, err = run_main(capsys, "--check", "--output", str(tmp_path / "template.yaml"))
    assert (status, err) == (0, "")
    assert "cfn-lint found no errors or warnings" in out
    assert "titiler-lambda-dev" in out
    assert list(tmp_path.iterdir()) == []


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    _, template = rendered(monkeypatch)
    function = function_properties(template)
    assert (function["MemorySize"], function["Timeout"]) == (1536, 10)
    assert function["Environment"]["Variables"] == render.GDAL_DEFAULTS
    assert "AWS_REQUEST_PAYER" not in function["Environment"]["Variables"]
    assert "Policies" not in function
    metadata = template["Resources"]["TilerFunction"]["Metadata"]
    assert metadata == {
        "Dockerfile": "handler/Dockerfile",
        "DockerContext": ".",
        "DockerTag": "python3.11-dev",
        "DockerBuildArgs": {"BASE_IMAGE": "public.ecr.aws/lambda/python:3.11"},
    }
    log_group = template["Resources"]["TilerFunctionLogGroup"]["Properties"]
    assert log_group["RetentionInDays"] == 30
    assert log_group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${TilerFunction}"}
    assert "project titiler, stage dev" in template["Description"]
    assert template["Outputs"]["ApiUrl"]["Value"] == {
        "Fn::Sub": "https://${TilerApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"
    }


def test_base_image_becomes_docker_build_arg(monkeypatch: pytest.MonkeyPatch) -> None:
    _, template = rendered(monkeypatch, TITILER_BASE_IMAGE="titiler-lambda-base:python3.11")
    build_args = template["Resources"]["TilerFunction"]["Metadata"]["DockerBuildArgs"]
    assert build_args == {"BASE_IMAGE": "titiler-lambda-base:python3.11"}


def test_docker_context_points_at_repository_from_anywhere(tmp_path: Path) -> None:
    settings = render.StackSettings(_env_file=None)
    text = render.render(settings, {}, tmp_path / "template.yaml")
    template, _ = decode_str(text)
    assert template is not None
    metadata = template["Resources"]["TilerFunction"]["Metadata"]
    assert metadata["DockerContext"] == str(render.ROOT)


def test_rest_api_url_includes_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    _, template = rendered(monkeypatch, TITILER_API_TYPE="rest", TITILER_STAGE="qa")
    assert template["Outputs"]["ApiUrl"]["Value"] == {
        "Fn::Sub": "https://${TilerApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/qa/"
    }


def test_rest_api_serves_the_app_under_its_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    _, template = rendered(monkeypatch, TITILER_API_TYPE="rest", TITILER_STAGE="qa")
    variables = function_properties(template)["Environment"]["Variables"]
    assert variables["TITILER_API_ROOT_PATH"] == "/qa"
    _, template = rendered(monkeypatch, TITILER_API_TYPE="http", TITILER_STAGE="qa")
    assert "TITILER_API_ROOT_PATH" not in function_properties(template)["Environment"]["Variables"]
    _, template = rendered(
        monkeypatch, TITILER_API_TYPE="rest", TITILER_STAGE="qa", TITILER_API_ROOT_PATH="/tiles"
    )
    variables = function_properties(template)["Environment"]["Variables"]
    assert variables["TITILER_API_ROOT_PATH"] == "/tiles"


def test_environment_override_extend_and_remove(monkeypatch: pytest.MonkeyPatch) -> None:
    _, template = rendered(
        monkeypatch,
        TITILER_ENV='{"GDAL_CACHEMAX": 512, "VSI_CACHE": null, "AWS_REQUEST_PAYER": "requester"}',
    )
    variables = function_properties(template)["Environment"]["Variables"]
    assert variables["GDAL_CACHEMAX"] == "512"
    assert "VSI_CACHE" not in variables
    assert variables["AWS_REQUEST_PAYER"] == "requester"
    assert variables["GDAL_HTTP_MULTIPLEX"] == "YES"
    assert len(variables) == len(render.GDAL_DEFAULTS)


def test_api_settings_pass_through(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "TITILER_API_NAME=From dotenv\nTITILER_API_DEBUG=true\nTITILER_MEMORY=2048\n"
    )
    _, template = rendered(
        monkeypatch,
        TITILER_API_NAME="My tiles",
        TITILER_API_CORS_ORIGINS="https://a.example,https://b.example",
        TITILER_API_CACHECONTROL="public, max-age=60",
        TITILER_API_TYPE="rest",
    )
    function = function_properties(template)
    variables = function["Environment"]["Variables"]
    assert variables["TITILER_API_NAME"] == "My tiles"
    assert variables["TITILER_API_DEBUG"] == "true"
    assert variables["TITILER_API_CORS_ORIGINS"] == "https://a.example,https://b.example"
    assert variables["TITILER_API_CACHECONTROL"] == "public, max-age=60"
    assert "TITILER_API_TYPE" not in variables
    assert "TITILER_MEMORY" not in variables
    assert function["MemorySize"] == 2048


def test_titiler_env_overrides_api_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    _, template = rendered(
        monkeypatch, TITILER_API_DEBUG="true", TITILER_ENV='{"TITILER_API_DEBUG": null}'
    )
    assert "TITILER_API_DEBUG" not in function_properties(template)["Environment"]["Variables"]


def s3_resources(template: dict[str, Any]) -> list[str]:
    policies = function_properties(template).get("Policies", [])
    return [
        resource["Fn::Join"][1][-1]
        for policy in policies
        for statement in policy["Statement"]
        if statement["Action"] == "s3:GetObject"
        for resource in statement["Resource"]
    ]


@pytest.mark.parametrize(
    ("sources", "patterns"),
    [
        (None, []),
        ('["/opt/demo/", "https://", "s3://"]', []),
        ("s3://cogs/", ["cogs/*"]),
        ("s3://cogs", ["cogs/*"]),
        ("s3://cogs/2024/,s3://cogs/2024/", ["cogs/2024/*"]),
        ("s3://my.cogs/landsat", ["my.cogs/landsat*"]),
        (
            '["s3://a-bucket/tiles/", "https://host/", "/local/dir/", "s3://", "s3://b-bucket/"]',
            ["a-bucket/tiles/*", "b-bucket/*"],
        ),
    ],
)
def test_allowed_s3_sources_become_read_policy(
    monkeypatch: pytest.MonkeyPatch, sources: str | None, patterns: list[str]
) -> None:
    env = {"TITILER_API_ALLOWED_SOURCES": sources} if sources is not None else {}
    text, template = rendered(monkeypatch, **env)
    assert s3_resources(template) == patterns
    if patterns:
        statement = function_properties(template)["Policies"][0]["Statement"][0]
        assert statement["Effect"] == "Allow"
        assert "s3:ListBucket" not in text
        join = statement["Resource"][0]["Fn::Join"]
        assert join[1][:3] == ["arn:", {"Ref": "AWS::Partition"}, ":s3:::"]


@pytest.mark.parametrize(
    ("project", "stage", "stack_name"),
    [
        (None, None, "titiler-lambda-dev"),
        (None, "prod", "titiler-lambda-prod"),
        ("maps", "staging", "maps-lambda-staging"),
    ],
)
def test_stack_name(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    project: str | None,
    stage: str | None,
    stack_name: str,
) -> None:
    if project:
        monkeypatch.setenv("TITILER_PROJECT", project)
    if stage:
        monkeypatch.setenv("TITILER_STAGE", stage)
    settings, _ = render.load()
    assert settings.stack_name == stack_name
    status, out, _ = run_main(capsys, "--check")
    assert status == 0
    assert f"stack         {stack_name} " in out


def test_samconfig_names_the_stacks() -> None:
    import tomllib

    config = tomllib.loads((render.ROOT / "samconfig.toml").read_text())
    assert config["version"] == 0.1
    assert config["default"]["global"]["parameters"]["stack_name"] == "titiler-lambda-dev"
    assert config["prod"]["global"]["parameters"]["stack_name"] == "titiler-lambda-prod"
    for environment in ("default", "prod"):
        deploy = config[environment]["deploy"]["parameters"]
        assert deploy["capabilities"] == "CAPABILITY_IAM"
        assert deploy["resolve_image_repos"] is True


def test_rendered_template_is_not_tracked() -> None:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    result = subprocess.run(
        ["git", "check-ignore", "-q", "template.yaml"], cwd=render.ROOT, check=False
    )
    assert result.returncode == 0


def test_lint_reports_errors_and_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    text, _ = rendered(monkeypatch)
    broken = text.replace("MemorySize: 1536", "MemorySize: 99999").replace(
        "    Type: AWS::Logs::LogGroup\n",
        "    Type: AWS::Logs::LogGroup\n    DependsOn: TilerFunction\n",
    )
    assert [finding.split()[0] for finding in render.lint(broken)] == ["E3034", "W3005"]


def test_function_gdal_defaults_agree_with_the_apps_own() -> None:
    """The function environment (render.py) and the app's process defaults (titiler/gdal.py)
    give every GDAL option they both set the same value."""
    from titiler.gdal import GDAL_DEFAULTS as APP_DEFAULTS

    shared = set(render.GDAL_DEFAULTS) & set(APP_DEFAULTS)
    assert "CPL_VSIL_CURL_CHUNK_SIZE" in shared
    assert {key: render.GDAL_DEFAULTS[key] for key in shared} == {
        key: APP_DEFAULTS[key] for key in shared
    }
