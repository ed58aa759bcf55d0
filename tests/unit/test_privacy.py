"""glm_lsp.context.privacy: which files may be sent, and secrets redacted from what is.

Every key below is fake: the right shape, random characters, never a real credential.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glm_lsp.context import privacy as privacy_module
from glm_lsp.context.privacy import REDACTED, Privacy
from glm_lsp.settings import DEFAULT_EXCLUDE


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def privacy(root: Path) -> Privacy:
    return Privacy(root, list(DEFAULT_EXCLUDE))


# =========================================================================== excluded()

EXCLUDED_BY_DEFAULT = [
    (".env", ".env"),
    ("config/.env", ".env"),
    (".env.local", ".env.*"),
    (".env.production", ".env.*"),
    ("prod.pem", "*.pem"),
    ("certs/prod.pem", "*.pem"),
    ("server.key", "*.key"),
    ("id_rsa", "id_rsa*"),
    ("id_rsa.pub", "id_rsa*"),
    ("id_dsa", "id_dsa*"),
    ("id_ecdsa", "id_ecdsa*"),
    ("id_ed25519", "id_ed25519*"),
    ("id_ed25519.pub", "id_ed25519*"),
    ("cert.p12", "*.p12"),
    ("cert.pfx", "*.pfx"),
    ("release.keystore", "*.keystore"),
    ("android/app/upload.jks", "*.jks"),
    (".netrc", ".netrc"),
    (".npmrc", ".npmrc"),
    (".pypirc", ".pypirc"),
    ("aws_credentials.json", "*credentials*"),
    ("credentials", "*credentials*"),
    ("my-secret.txt", "*secret*"),
    ("k8s/secrets.yaml", "*secret*"),
    (".git/config", ".git/"),
    (".git/hooks/pre-commit", ".git/"),
]


@pytest.mark.parametrize(("rel", "glob"), EXCLUDED_BY_DEFAULT)
def test_default_globs_exclude(privacy: Privacy, root: Path, rel: str, glob: str):
    assert privacy.excluded(root / rel) == f'matches context.exclude "{glob}"'


def test_every_default_glob_is_exercised():
    assert {glob for _, glob in EXCLUDED_BY_DEFAULT} == set(DEFAULT_EXCLUDE)


@pytest.mark.parametrize(
    "rel",
    [
        "environment.py",
        "env.py",
        "src/envs/base.py",
        "keyboard.py",
        "keys.py",  # "*.key" is a suffix: keys.py, monkey.py and key_test.go stay sendable
        "monkey.py",
        "key_test.go",
        "pem_utils.py",
        "tokenizer.py",
        "credit_card.py",
        "README.md",
        ".gitignore",
        "git/config.py",
        "src/glm_lsp/context/privacy.py",
    ],
)
def test_default_globs_allow(privacy: Privacy, root: Path, rel: str):
    assert privacy.excluded(root / rel) is None


def test_relative_paths_and_strings_are_taken_from_the_root(privacy: Privacy, root: Path):
    assert privacy.excluded(".env") == 'matches context.exclude ".env"'
    assert privacy.excluded("src/app.py") is None
    assert privacy.excluded(str(root / ".env.local")) == 'matches context.exclude ".env.*"'


def test_root_gitignore(privacy: Privacy, root: Path):
    write(root / ".gitignore", "# build output\n*.log\n\n/dist\nnode_modules/\n")
    assert privacy.excluded(root / "app.log") == "ignored by .gitignore"
    assert privacy.excluded(root / "logs/today.log") == "ignored by .gitignore"
    assert privacy.excluded(root / "dist/bundle.js") == "ignored by .gitignore"
    assert privacy.excluded(root / "src/dist/x.js") is None  # "/dist" is anchored to the root
    assert privacy.excluded(root / "web/node_modules/react/index.js") == "ignored by .gitignore"
    assert privacy.excluded(root / "src/app.py") is None
    assert privacy.excluded(root / "catalog.py") is None


def test_nested_gitignore_applies_only_below_its_folder(privacy: Privacy, root: Path):
    write(root / "sub/.gitignore", "*.tmp\n/local.txt\n")
    assert privacy.excluded(root / "sub/a.tmp") == "ignored by sub/.gitignore"
    assert privacy.excluded(root / "sub/deeper/b.tmp") == "ignored by sub/.gitignore"
    assert privacy.excluded(root / "a.tmp") is None
    assert privacy.excluded(root / "other/a.tmp") is None
    # Anchored patterns are relative to the folder of the .gitignore.
    assert privacy.excluded(root / "sub/local.txt") == "ignored by sub/.gitignore"
    assert privacy.excluded(root / "sub/deeper/local.txt") is None
    assert privacy.excluded(root / "local.txt") is None


def test_negation(privacy: Privacy, root: Path):
    write(root / ".gitignore", "*.log\n!keep.log\n")
    assert privacy.excluded(root / "debug.log") == "ignored by .gitignore"
    assert privacy.excluded(root / "keep.log") is None
    assert privacy.excluded(root / "deep/keep.log") is None


def test_nested_negation_overrides_the_root(privacy: Privacy, root: Path):
    write(root / ".gitignore", "*.log\n")
    write(root / "sub/.gitignore", "!important.log\n")
    assert privacy.excluded(root / "sub/important.log") is None
    assert privacy.excluded(root / "sub/other.log") == "ignored by .gitignore"
    assert privacy.excluded(root / "important.log") == "ignored by .gitignore"


def test_nested_gitignore_can_ignore_what_the_root_allows(privacy: Privacy, root: Path):
    write(root / ".gitignore", "!*.csv\n")
    write(root / "data/.gitignore", "*.csv\n")
    assert privacy.excluded(root / "data/x.csv") == "ignored by data/.gitignore"
    assert privacy.excluded(root / "x.csv") is None


def test_directory_pattern(privacy: Privacy, root: Path):
    write(root / ".gitignore", "build/\n")
    (root / "build").mkdir()
    assert privacy.excluded(root / "build/out.js") == "ignored by .gitignore"
    assert privacy.excluded(root / "pkg/build/out.js") == "ignored by .gitignore"
    assert privacy.excluded(root / "build") == "ignored by .gitignore"
    # "build/" matches folders only: a file called build is sendable.
    assert privacy.excluded(root / "build.py") is None
    assert privacy.excluded(root / "scripts/build") is None


def test_file_in_an_ignored_folder_cannot_be_re_included(privacy: Privacy, root: Path):
    # As in git: "it is not possible to re-include a file if a parent directory is excluded".
    write(root / ".gitignore", "build/\n!build/keep.txt\n")
    assert privacy.excluded(root / "build/keep.txt") == "ignored by .gitignore"


def test_git_info_exclude(privacy: Privacy, root: Path):
    write(root / ".git/info/exclude", "# personal\nnotes.md\nscratch/\n")
    assert privacy.excluded(root / "notes.md") == "ignored by .git/info/exclude"
    assert privacy.excluded(root / "docs/notes.md") == "ignored by .git/info/exclude"
    assert privacy.excluded(root / "scratch/try.py") == "ignored by .git/info/exclude"
    assert privacy.excluded(root / "main.py") is None


def test_gitignore_overrides_info_exclude(privacy: Privacy, root: Path):
    write(root / ".git/info/exclude", "*.md\n")
    write(root / ".gitignore", "!README.md\n")
    assert privacy.excluded(root / "README.md") is None
    assert privacy.excluded(root / "NOTES.md") == "ignored by .git/info/exclude"


def test_custom_globs_with_negation(root: Path):
    privacy = Privacy(root, ["*.env", "!example.env", "fixtures/private/"])
    assert privacy.excluded(root / "prod.env") == 'matches context.exclude "*.env"'
    assert privacy.excluded(root / "example.env") is None
    assert privacy.excluded(root / "fixtures/private/a.json") == 'matches context.exclude "fixtures/private/"'
    assert privacy.excluded(root / "fixtures/public/a.json") is None


def test_path_outside_the_root(privacy: Privacy, root: Path, tmp_path: Path):
    write(root / ".gitignore", "*.py\n")
    outside = tmp_path / "elsewhere"
    assert privacy.excluded(outside / ".env") == 'matches context.exclude ".env"'
    assert privacy.excluded(outside / ".ssh/id_ed25519") == 'matches context.exclude "id_ed25519*"'
    assert privacy.excluded(outside / "secrets/app.py") == 'matches context.exclude "*secret*"'
    # The workspace's .gitignore says nothing about files outside it.
    assert privacy.excluded(outside / "main.py") is None


def test_root_reached_through_a_symlink(root: Path, tmp_path: Path):
    write(root / ".gitignore", "*.log\n")
    link = tmp_path / "link"
    link.symlink_to(root, target_is_directory=True)
    privacy = Privacy(link, list(DEFAULT_EXCLUDE))
    assert privacy.excluded(root / "a.log") == "ignored by .gitignore"
    assert privacy.excluded(link / "a.log") == "ignored by .gitignore"
    assert privacy.excluded(root / "a.py") is None


def test_blank_and_comment_globs_are_ignored(root: Path):
    privacy = Privacy(root, ["", "  ", "# note", "*.secret-data"])
    assert privacy.excluded(root / "x.secret-data") == 'matches context.exclude "*.secret-data"'
    assert privacy.excluded(root / "x.py") is None


def test_no_workspace_root_only_the_globs_apply(tmp_path: Path):
    write(tmp_path / ".gitignore", "*.py\n")
    privacy = Privacy(None, list(DEFAULT_EXCLUDE))
    assert privacy.excluded(tmp_path / ".env") == 'matches context.exclude ".env"'
    assert privacy.excluded(tmp_path / "server.key") == 'matches context.exclude "*.key"'
    assert privacy.excluded(tmp_path / "main.py") is None


def test_gitignore_cache_is_refreshed_when_mtime_changes(privacy: Privacy, root: Path):
    gitignore = write(root / ".gitignore", "a.txt\n")
    assert privacy.excluded(root / "a.txt") == "ignored by .gitignore"
    assert privacy.excluded(root / "b.txt") is None
    gitignore.write_text("b.txt\n")
    bump_mtime(gitignore)
    assert privacy.excluded(root / "a.txt") is None
    assert privacy.excluded(root / "b.txt") == "ignored by .gitignore"
    gitignore.unlink()
    assert privacy.excluded(root / "b.txt") is None
    write(root / "sub/.gitignore", "c.txt\n")  # a new nested file is found too
    assert privacy.excluded(root / "sub/c.txt") == "ignored by sub/.gitignore"


def test_gitignore_is_parsed_once_while_unchanged(privacy: Privacy, root: Path, monkeypatch):
    write(root / ".gitignore", "*.log\n")
    write(root / "a/b/.gitignore", "*.tmp\n")
    parsed = []
    real = privacy_module.GitIgnoreSpec.from_lines

    def counting(lines):
        parsed.append(list(lines))
        return real(lines)

    monkeypatch.setattr(privacy_module.GitIgnoreSpec, "from_lines", staticmethod(counting))
    for _ in range(5):
        assert privacy.excluded(root / "a/b/c/x.tmp") == "ignored by a/b/.gitignore"
        assert privacy.excluded(root / "a/b/c/x.py") is None
    assert len(parsed) == 2


def test_excluded_is_fast_enough_per_snippet(privacy: Privacy, root: Path):
    write(root / ".gitignore", "*.log\nbuild/\n")
    write(root / "a/.gitignore", "*.tmp\n")
    write(root / "a/b/c/.gitignore", "!keep.tmp\n")
    path = root / "a/b/c/d/e/module.py"
    start = time.perf_counter()
    for _ in range(1000):
        assert privacy.excluded(path) is None
    assert time.perf_counter() - start < 2.0


# =========================================================================== redact()

R = "Ab3dE5fG7hJ9kL2mN4pQ6rS8tV0wX1yZ"  # 32 random-looking characters to build long keys
HEX32 = "4f1c9e2ab7d35068c1e9f24a7b3d5c80"

# (case id, text, the secret that must be replaced by REDACTED and nothing else)
SECRET_CASES = [
    # --- AWS
    ("aws-start-of-line", "AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("aws-asia-in-call", 'boto3.client("s3", aws_access_key_id="ASIAY34FZKBOKMUTVV7A")', "ASIAY34FZKBOKMUTVV7A"),
    ("aws-in-url", "https://b.s3.amazonaws.com/f?AWSAccessKeyId=AKIAQ3EGRT5JZ7XK2PLM&Expires=1", "AKIAQ3EGRT5JZ7XK2PLM"),
    # --- OpenAI / Anthropic
    ("openai-short", 'client = OpenAI(api_key="sk-ab12cd34")', "sk-ab12cd34"),
    ("openai-project-long-env", "OPENAI_API_KEY=sk-proj-" + R * 5, "sk-proj-" + R * 5),
    ("openai-json", '{"openai": "sk-Zq8xR2mN4pL6vB0cT9wY"}', "sk-Zq8xR2mN4pL6vB0cT9wY"),
    ("openai-js-template", "const k = `sk-live1234abcd`;", "sk-live1234abcd"),
    ("anthropic-short", 'ANTHROPIC = "sk-ant-api03-Xy12Ab34"', "sk-ant-api03-Xy12Ab34"),
    ("anthropic-long-yaml", "anthropic: sk-ant-api03-" + R * 3 + "-AA", "sk-ant-api03-" + R * 3 + "-AA"),
    # --- GitHub
    ("github-ghp-short", 'gh = Github("ghp_a1B2c3D4e5")', "ghp_a1B2c3D4e5"),
    ("github-ghp-long", "ghp_" + R + "k7Qw", "ghp_" + R + "k7Qw"),
    ("github-gho-toml", 'oauth = "gho_' + R[:20] + '"', "gho_" + R[:20]),
    ("github-ghu-yaml", "value: ghu_9xK2mP4qR6", "ghu_9xK2mP4qR6"),
    ("github-ghs-in-url", "git clone https://x-access-token:ghs_abc123DEF456@github.com/o/r.git", "ghs_abc123DEF456"),
    ("github-ghr", "refresh=ghr_" + R, "ghr_" + R),
    ("github-fine-grained", "github_pat_11ABCDEFG0" + R + "_" + R[:20], "github_pat_11ABCDEFG0" + R + "_" + R[:20]),
    # --- Slack
    ("slack-xoxb-short", 'slack = "xoxb-123-456-abc"', "xoxb-123-456-abc"),
    ("slack-xoxb-long", "SLACK_BOT=xoxb-1234567890123-1234567890123-" + R[:24], "xoxb-1234567890123-1234567890123-" + R[:24]),
    ("slack-xoxp", "client = WebClient(xoxp_value='xoxp-98765-43210-fedcba')", "xoxp-98765-43210-fedcba"),
    ("slack-xoxa", "a = 'xoxa-2-abc123def'; n = 1", "xoxa-2-abc123def"),
    ("slack-xoxr-json", '{"refresh": "xoxr-2-abc123def"}', "xoxr-2-abc123def"),
    ("slack-xapp-env", "SLACK_APP_LEVEL=xapp-1-A0123-456-abcdef", "xapp-1-A0123-456-abcdef"),
    # --- Stripe
    ("stripe-sk-live", 'stripe.api_base_key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"', "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("stripe-sk-test-short", "sk_test_abc12345", "sk_test_abc12345"),
    ("stripe-rk-live", "restricted: rk_live_51H8abcDEF9", "rk_live_51H8abcDEF9"),
    ("stripe-pk-live-js", "const stripe = Stripe('pk_live_51H8abcDEF');", "pk_live_51H8abcDEF"),
    # --- Google, GitLab, npm, Hugging Face, SendGrid
    ("google-short", "maps = AIzaSy12ab34cd", "AIzaSy12ab34cd"),
    ("google-in-url", "https://maps.googleapis.com/maps/api/js?v=3&libraries=places&client=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"),
    ("gitlab-short", "glpat-ab12cd34", "glpat-ab12cd34"),
    ("gitlab-long-yaml", "  gitlab: glpat-a1b2C3d4e5F6g7H8i9J0", "glpat-a1b2C3d4e5F6g7H8i9J0"),
    ("npm-npmrc", "//registry.npmjs.org/:_authToken=npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
    ("npm-short-yaml", "publish: npm_ab12CD34ef", "npm_ab12CD34ef"),
    ("huggingface-env", "HF_HOME_X=hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567"),
    ("huggingface-short", 'login(hf_value="hf_ab12CD34ef")', "hf_ab12CD34ef"),
    ("sendgrid-long", "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", "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"),
    ("sendgrid-short", 'sg = SendGridAPIClient("SG.ab12CD34.ef56GH78")', "SG.ab12CD34.ef56GH78"),
    # --- Z.AI (the GLM provider's id.secret keys)
    ("zai-toml", f'glm = "{HEX32}.AbCdEfGh12345678"', f"{HEX32}.AbCdEfGh12345678"),
    ("zai-start-of-line-long", f"{HEX32}.{R}", f"{HEX32}.{R}"),
    ("zai-header", f"curl -H 'x-glm: {HEX32}.ZyXwVuTs98765432' https://api.z.ai", f"{HEX32}.ZyXwVuTs98765432"),
    # --- JWT
    ("jwt-short", "eyJhbGci.eyJzdWIi.c2ln", "eyJhbGci.eyJzdWIi.c2ln"),
    ("jwt-long-json", '{"id_jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"}',
     "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
    # --- Authorization headers
    ("bearer-header", 'curl -H "Authorization: Bearer abc123def456" https://x', "abc123def456"),
    ("basic-header", "headers['X'] = 'Basic dXNlcjpwYXNzd29yZA=='", "dXNlcjpwYXNzd29yZA=="),
    # --- assignments with a telling name
    ("password-python", 'password = "hunter22"', "hunter22"),
    ("password-env", "DB_PASSWORD=hunter22", "hunter22"),
    ("password-env-word", "DB_PASSWORD=changeme", "changeme"),
    ("token-export", "export API_TOKEN=ab12cd34ef56", "ab12cd34ef56"),
    ("password-cli-equals", "mysql --user=root --password=s3cr3t! db", "s3cr3t!"),
    ("password-cli-space", "mysql --password hunter22 db", "hunter22"),
    ("client-secret-json", '{"client_id": "web-app", "client_secret": "abcDEF123456"}', "abcDEF123456"),
    ("auth-yaml-bare", "auth: Zx9!kP2#mQ", "Zx9!kP2#mQ"),
    ("secret-toml-passphrase", 'secret = "correct horse battery staple"', "correct horse battery staple"),
    ("apikey-js-object", '  apiKey: "abc123def456",', "abc123def456"),
    ("api-key-subscript", 'config["api_key"] = "abc123def456"', "abc123def456"),
    ("access-key-yaml-bare", "  access_key: s3cr3t-value", "s3cr3t-value"),
    ("private-key-value", "private_key = 'MIIEvQIBADAN'", "MIIEvQIBADAN"),
    ("passwd-yaml", "passwd: hunter22", "hunter22"),
    ("apikey-go", 'ApiKey := "abcdef123"', "abcdef123"),
    ("password-php", "'password' => 'hunter22',", "hunter22"),
    ("auth-secret-quoted-env", 'AUTH_SECRET="x9Yz8Wv7"', "x9Yz8Wv7"),
    ("password-xml", "<password>hunter22</password>", "hunter22"),
    ("password-comparison", 'if password == "hunter22":', "hunter22"),
    ("password-kwarg", 'login(user="bob", password="hunter22")', "hunter22"),
    ("password-ini", "password = hunter22", "hunter22"),
    ("auth-token-camel", "authToken: 'ab12cd34ef'", "ab12cd34ef"),
    ("x-auth-token-header", '"X-Auth-Token": "ab12cd34ef"', "ab12cd34ef"),
    ("authorization-value", '{"Authorization": "Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}', "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"),
    ("secret-key-django", "SECRET_KEY = 'django-insecure-7x!k@2m#q9'", "django-insecure-7x!k@2m#q9"),
    ("db-pass-env", "SMTP_PASS=Tr0ub4dor&3", "Tr0ub4dor&3"),
    ("password-long", "password: " + R * 4, R * 4),
    ("password-qualified-env", "DB_PASSWORD_PROD=hunter22", "hunter22"),
    ("password-numbered", 'password2 = "hunter22"', "hunter22"),
    ("password-compose-list", "      - POSTGRES_PASSWORD=example123", "example123"),
    ("password-yaml-passphrase", "password: correct horse battery staple  # prod", "correct horse battery staple"),
    ("password-connection-string", 'conn = "Server=db;User Id=sa;Password=Secret!23;Encrypt=true"', "Secret!23"),
    ("password-properties", "spring.datasource.password=hunter22", "hunter22"),
    ("password-php-define", "define('DB_PASSWORD', 'hunter22');", "hunter22"),
    ("api-key-setdefault", 'os.environ.setdefault("API_KEY", "abc123def456")', "abc123def456"),
    ("password-k8s-secret", "  password: cGFzc3dvcmQxMjM=", "cGFzc3dvcmQxMjM="),
    ("password-curl-user", "curl -u admin:pa55w0rd https://api.example.com", "pa55w0rd"),
    # --- high entropy, no telling name
    ("entropy-python", 'x = "aB3dE5fG7hI9jK1lM2nOqR"', "aB3dE5fG7hI9jK1lM2nOqR"),
    ("entropy-yaml-base64", 'blob: "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA=="', "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA=="),
    ("entropy-hex32", 'seed = "9f86d081884c7d659a2feaa0c55ad015"', "9f86d081884c7d659a2feaa0c55ad015"),
    ("entropy-env-bare", "DATA=Q2xhdWRlIGlzIGdyZWF0ITEyMzQ1Njc4OTA", "Q2xhdWRlIGlzIGdyZWF0ITEyMzQ1Njc4OTA"),
    ("entropy-jwk", "{'kty': 'oct', 'k': 'sTBpI_oCHSyW-n0exSwhzNHwU9FGRioPauxWA84bnRU'}", "sTBpI_oCHSyW-n0exSwhzNHwU9FGRioPauxWA84bnRU"),
    ("entropy-kwarg", 'Client(base="https://x", salt="k9Xm2Pq7Lw4Rz8Tn1Vb6Yc3")', "k9Xm2Pq7Lw4Rz8Tn1Vb6Yc3"),
    # --- passwords in URLs
    ("url-postgres", 'DATABASE_URL = "postgres://admin:pa55w0rd@db.example.com:5432/app"', "pa55w0rd"),
    ("url-redis-no-user", "redis://:s3cretpw@localhost:6379/0", "s3cretpw"),
    ("url-https-in-string", "fetch('https://user:Xy9!abc@example.com/path')", "Xy9!abc"),
    ("url-mongodb-long-yaml", "url: mongodb+srv://app:Kx8#mP2qLw9zR4tY6uI0oP@cluster0.mongodb.net/db", "Kx8#mP2qLw9zR4tY6uI0oP"),
    ("url-query-token", "https://example.com/hook?token=abcdef123&x=1", "abcdef123"),
    ("url-query-google-key", "https://example.com/api?key=Zx81kPq02LmW9&v=3", "Zx81kPq02LmW9"),
    ("url-slack-webhook", "WEBHOOK = 'https://hooks.slack.com/services/T0001/B0001/XXXXabcd1234'", "T0001/B0001/XXXXabcd1234"),
]


@pytest.mark.parametrize(("text", "secret"), [c[1:] for c in SECRET_CASES], ids=[c[0] for c in SECRET_CASES])
def test_redacts_secret_and_nothing_else(text: str, secret: str):
    out = Privacy(None, []).redact(text)
    assert secret not in out
    assert out == text.replace(secret, REDACTED)
    assert out.count("\n") == text.count("\n")


def test_secret_cases_are_many_and_distinct():
    assert len(SECRET_CASES) >= 40
    assert len({c[0] for c in SECRET_CASES}) == len(SECRET_CASES)


@pytest.mark.parametrize(("text", "secret"), [c[1:] for c in SECRET_CASES], ids=[c[0] for c in SECRET_CASES])
def test_secret_inside_multiline_code_keeps_the_lines_around_it(text: str, secret: str):
    before = "import os\n\n\ndef f(x):\n    return x  # tokens\n"
    after = "\n\nclass A:\n    pass\n"
    out = Privacy(None, []).redact(before + text + after)
    assert secret not in out
    assert out.startswith(before) and out.endswith(after)
    assert out.count("\n") == (before + text + after).count("\n")


INNOCENT = [
    "def tokenize(text):\n    tokens = []\n    for token in text.split():\n        tokens.append(token)\n    return tokens\n",
    "from glm_lsp.context.privacy import Privacy, REDACTED\nimport os.path\n",
    'request_id = "123e4567-e89b-12d3-a456-426614174000"',
    "# fixed in a94a8fe5ccb19ba61c4c0873d391e987982fbbd3 (see #123)",
    'commit = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"',
    'sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"',
    'password = os.environ["DB_PASSWORD"]',
    'token = os.getenv("GITHUB_TOKEN")',
    "api_key = os.environ.get('GLM_API_KEY', '')",
    "const apiKey = process.env.OPENAI_API_KEY;",
    "password: ${DB_PASSWORD}\nDATABASE_URL=${DATABASE_URL}\n",
    'password = None\nsecret: null\ntoken = ""\napi_key: ~\n',
    "auth: basic",
    'author = "Jane Doe"',
    'token_type = "bearer"',
    'API_KEY_ENV = "GLM_API_KEY"',
    'password_label = "Enter your password"',
    '"password": "Password"',
    'MODULE = "glm_lsp.context.privacy"',
    'path = "src/glm_lsp/context/privacy.py"',
    'ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"',
    'url = "https://api.z.ai/api/paas/v4/chat/completions"',
    "max_tokens: int = 4096\nmax_output_tokens = 8192\n",
    "if password == confirm_password:\n    return True\n",
    "self.token = token\nself._password = password\n",
    "secret = secrets.token_hex(16)",
    "api_key: SecretStr | None = None\npassword: str = ''\n",
    'headers = {"Authorization": f"Bearer {self.api_key}"}',
    "class TokenEstimator:\n    def estimate(self, text: str) -> int: ...\n",
    "git clone git@github.com:org/repo.git",
    'BEGIN = "-----BEGIN PRIVATE KEY-----"\nEND = "-----END PRIVATE KEY-----"\n',
    "from huggingface_hub import hf_hub_download\nhf_tokenizer = load()\n",
    ".sk-button-primary { color: red; }",
    "NPM_CONFIG_REGISTRY=https://registry.npmjs.org/",
    "def check_password(password: str, token: str | None = None) -> bool:",
    'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")',
    "Set the token in your environment and restart the server.",
    "Use Bearer authentication for every request; see Token handling below.",
    "The password must be at least 8 characters long.",
    'logger.info("token refreshed: %s", token_id)',
    "ws = new WebSocket(`wss://${host}:${port}/ws`)",
    'version = "1.2.3"\nname = "glm-lsp"\n',
    "x = a - b\ny = c-d\n",
    "ConfigDict(extra='forbid', populate_by_name=True)",
    "env.get('PATH', '/usr/bin:/bin')",
    "token = next(tokens)\npassword = getpass.getpass()\n",
    "for key, value in os.environ.items():",
    "lock_hash = 'sha256:4f1c9e2ab7d35068c1e9f24a7b3d5c80'",
    "http://localhost:8080/path@section",
    "ASIA_PACIFIC_REGIONS = ['ap-south-1']",
    "TOKEN_URL = 'https://oauth2.googleapis.com/token'",
]


# Lines from the standard library and site-packages that earlier versions redacted.
REAL_CODE = [
    'Token: "#cccccc",\nToken.String.Symbol: "noinherit",\nToken.Name.Builtin: "bold #6C5A05",\n',  # pygments
    "token: Required[str]\nclient_secret: Optional[str]\nauth: Required[CredentialAuthCreateParam]\n",  # openai
    "private_key: PKCS7PrivateKeyTypes,\ntoken: Token | None\ndomain_secrets: Iterable[Param]\n",
    'if token == "lambda":\n    pass\nelif token == "#bygroup":\n    pass\n',  # tokenizers
    "SERVER_AUTH = '1.3.6.1.5.5.7.3.1'",  # an OID
    "_TOKEN_REF = r'[A-Z]\\w*'\ntoken = r\"[-!#$%&'*+.^_`|~0-9a-zA-Z]+\"\n",  # regular expressions
    "SECRETS_DIR_MAX_ENTRIES = 10_000",
    "serialization: IncExSeqOrElseSerSchema\nfunction: NoInfoValidatorFunction\nexpires_at: ClientSecretExpiresAt\n",
    "(commandline --current-token --cut-at-cursor)",
    '_AZURE_AUTH_ORIGIN = "openai.azure_auth_origin"',
    'origins["api_key"] = f"environment {var}"',
    "self._secrets = sorted(\n    secrets, key=len\n)\n",
    "env = dict(\n    ZAI_API_KEY=TEST_KEY,\n)\nenv = {\n    \"ZAI_API_KEY\": TEST_KEY,\n}\n",
    '"my_secrets.py": "def f(c):\\n    return c\\n",',
    "# scheme://user:password@host (user may be empty: redis://:pw@host)",
    "Signature: 8a477f597d28d172789f06886806bc55",
    "'CAPABILITY': ('NONAUTH', 'AUTH', 'SELECTED', 'LOGOUT'),",
    "__all__ = ('Context', 'ContextVar', 'Token', 'copy_context')",
    'return json.dumps({"nextToken": next_token, "resiliencyPolicies": policies})',
    "resp = client.list(\n    next_token=next_token\n)\n",
    'NOPASSWORD = "no-password-required"',
    '"input_token": "next_marker",',
    'ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",\nExtensionOID.PRIVATE_KEY_USAGE_PERIOD: "privateKeyUsagePeriod",\n',
    '_SK_SSH_ED25519 = b"sk-ssh-ed25519@openssh.com"',
    "INT_FUNC_HASHES = {'binomial': '2fbead005fc63942decb5326d36a1f32fe2c9d32c904ee61e46866b88447c263'}",
    '"ascent.dat": "03ce124c1afc880f87b55f6b061110e2e1e939679184f5614e38dacc6c1957e2",',
    "expectedchecksum = '4739770dd4d0e5f1b1677accfc3552ed3c8ef326'",
    "hashlib.sha224: '896fb1128abbdf196832107cd49df33f'",
    'TOKEN_COMMENT_BEGIN: "begin of comment",\nTOKEN_DATA: "template data / text",\n',  # jinja2
    '"Sid":"AllowReadOnlyAccessEC2Resource"',
    "password: The password part of the URL.\n- password: password to use with username\n",  # docstrings
    'flags="-march=armv8.2-a+fp16fml"',
    'publicKeyToken="1fc8b3b9a1e18e3b"',
    "- Development versions after a1: '1.8.0a1.dev-f1234afa',",
    "    s3_disable_express_session_auth=s3_disable_express_session_auth,",
    'run(trio_token="Not TrioTokentype")',
    'data = "key2=value2x&key3=value3&key4=value4"',
    'url_handler("search?key=test_error_package")',
    'portfolio_share_token += "-principals"',
    "credentials = '{0}:{1}'.format(user, passwd).encode()",
    "'pass': 'bandpass',",
    "api_key: str | None = None\ndescription: the token used for auth\n",
    "KEYWORDS = ['token', 'lambda', 'password', 'passwd']",
    "CHOICES = [('password', 'Password'), ('token', 'API token')]",
]


@pytest.mark.parametrize("text", INNOCENT + REAL_CODE)
def test_innocent_code_is_unchanged(text: str):
    assert Privacy(None, []).redact(text) == text


def test_innocent_cases_are_many():
    assert len(INNOCENT) >= 15


# --------------------------------------------------------------------------- key blocks

PEM_BODY = [
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK",
    "LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo",
    "9z+tbz6zaYkvO8bO==",
]


def pem(kind: str = "RSA PRIVATE KEY", indent: str = "") -> str:
    lines = [f"-----BEGIN {kind}-----", *PEM_BODY, f"-----END {kind}-----"]
    return "\n".join(indent + line for line in lines)


@pytest.mark.parametrize("kind", ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"])
def test_private_key_block_body_lines_become_redacted(kind: str):
    text = f'KEY = """{pem(kind)}"""\nprint(KEY)\n'
    out = Privacy(None, []).redact(text)
    expected_body = "\n".join([REDACTED] * len(PEM_BODY))
    assert out == f'KEY = """-----BEGIN {kind}-----\n{expected_body}\n-----END {kind}-----"""\nprint(KEY)\n'


def test_private_key_block_keeps_indentation_in_yaml():
    text = "tls:\n  key: |\n" + pem(indent="    ") + "\n  cert: ok\n"
    out = Privacy(None, []).redact(text)
    lines = out.split("\n")
    assert lines[3:7] == ["    " + REDACTED] * 4
    assert lines[2] == "    -----BEGIN RSA PRIVATE KEY-----"
    assert lines[7] == "    -----END RSA PRIVATE KEY-----"
    assert out.count("\n") == text.count("\n")
    assert all(b not in out for b in PEM_BODY)


def test_pgp_private_key_block():
    text = (
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n"
        "Version: GnuPG v2\n"
        "\n"
        "lQOYBF0FXbUBCADLy4t6MZCpq0x8bS4H2n2x9aLm3nQ7PqRtYvWx1z2A3B4C5D6E\n"
        "7F8G9H0I1J2K3L4M5N6O7P8Q9R0S1T2U3V4W5X6Y7Z8a9b0c1d2e3f4g5h6i7j8k\n"
        "=nX5f\n"
        "-----END PGP PRIVATE KEY BLOCK-----\n"
    )
    out = Privacy(None, []).redact(text)
    assert out.split("\n") == [
        "-----BEGIN PGP PRIVATE KEY BLOCK-----",
        "Version: GnuPG v2",
        "",
        REDACTED,
        REDACTED,
        REDACTED,
        "-----END PGP PRIVATE KEY BLOCK-----",
        "",
    ]


def test_private_key_on_one_line_in_json():
    body = "\\n".join(PEM_BODY)
    text = f'{{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\\n", "x": 1}}'
    out = Privacy(None, []).redact(text)
    assert all(b not in out for b in PEM_BODY)
    assert "-----BEGIN PRIVATE KEY-----" in out and "-----END PRIVATE KEY-----" in out
    assert out.startswith('{"type": "service_account", "private_key": "') and out.endswith('", "x": 1}')
    assert "\n" not in out


def test_private_key_cut_at_the_end_of_a_snippet():
    text = "def load():\n    return '''-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(PEM_BODY[:2])
    out = Privacy(None, []).redact(text)
    assert out == "def load():\n    return '''-----BEGIN RSA PRIVATE KEY-----\n" + f"{REDACTED}\n{REDACTED}"


def test_private_key_cut_at_the_start_of_a_snippet():
    text = "\n".join(PEM_BODY[1:]) + "\n-----END RSA PRIVATE KEY-----'''\n\nx = 1\n"
    out = Privacy(None, []).redact(text)
    assert out == "\n".join([REDACTED] * 3) + "\n-----END RSA PRIVATE KEY-----'''\n\nx = 1\n"


def test_header_constant_followed_by_code_is_not_a_key():
    text = 'PEM_HEADER = "-----BEGIN PRIVATE KEY-----"\n\ndef parse(data):\n    return data.split()\n'
    assert Privacy(None, []).redact(text) == text


def test_public_key_and_certificate_are_kept():
    text = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1L\n-----END PUBLIC KEY-----\n"
    assert Privacy(None, []).redact(text) == text


def test_concatenated_key_lines_in_javascript():
    text = (
        'const key = "-----BEGIN PRIVATE KEY-----\\n" +\n'
        f'  "{PEM_BODY[0]}\\n" +\n'
        f'  "{PEM_BODY[1]}\\n" +\n'
        '  "-----END PRIVATE KEY-----";\n'
    )
    out = Privacy(None, []).redact(text)
    assert out.split("\n")[1:3] == [f'  "{REDACTED}\\n" +'] * 2
    assert out.split("\n")[0] == text.split("\n")[0]
    assert out.split("\n")[3] == text.split("\n")[3]


# --------------------------------------------------------------------------- exact secrets


def test_exact_secret_short_anywhere():
    privacy = Privacy(None, [], ["q7Zp2Lw9Xc"])
    text = "# my key is q7Zp2Lw9Xc, don't tell\nx = call('q7Zp2Lw9Xc')\nq7Zp2Lw9Xc"
    assert privacy.redact(text) == f"# my key is {REDACTED}, don't tell\nx = call('{REDACTED}')\n{REDACTED}"


def test_exact_secret_glm_key_anywhere():
    key = f"{HEX32}.Zz9Yy8Xx7Ww6Vv5U"
    privacy = Privacy(None, [], secrets=[key])
    assert privacy.redact(f"see {key}!") == f"see {REDACTED}!"
    assert privacy.redact(f"prefix{key}suffix") == f"prefix{REDACTED}suffix"


def test_exact_secrets_longest_first_and_empty_ignored():
    privacy = Privacy(None, [], ["", "   ", "abcdefgh12", "abcdefgh12345678"])
    assert privacy.redact("k=abcdefgh12345678 j=abcdefgh12") == f"k={REDACTED} j={REDACTED}"
    assert privacy.redact("nothing here") == "nothing here"


def test_exact_secret_with_a_line_break_keeps_the_line_count():
    privacy = Privacy(None, [], ["line-one-secret\nline-two-secret"])
    text = "a\nline-one-secret\nline-two-secret\nb"
    out = privacy.redact(text)
    assert "line-one-secret" not in out and "line-two-secret" not in out
    assert out.count("\n") == text.count("\n")


def test_a_secret_inside_the_marker_does_not_loop():
    privacy = Privacy(None, [], ["RED", "ACTED"])
    assert privacy.redact("x = 1") == "x = 1"
    assert privacy.redact(privacy.redact(f"y = '{REDACTED}'")) == f"y = '{REDACTED}'"


# --------------------------------------------------------------------------- idempotence and shape


ALL_TEXTS = [c[1] for c in SECRET_CASES] + INNOCENT + REAL_CODE + [pem(), pem("OPENSSH PRIVATE KEY", "  ")]


@pytest.mark.parametrize("text", ALL_TEXTS)
def test_redact_is_idempotent(text: str):
    privacy = Privacy(None, [], ["q7Zp2Lw9Xc"])
    once = privacy.redact(text)
    assert privacy.redact(once) == once


def test_line_count_never_changes_on_a_whole_file():
    text = "\n".join(ALL_TEXTS)
    out = Privacy(None, [], ["q7Zp2Lw9Xc"]).redact(text)
    assert out.count("\n") == text.count("\n")
    assert len(out.splitlines()) == len(text.splitlines())


# Fragments that trigger every pass, glued in any order: the passes must not feed each other.
FRAGMENTS = [
    "password", "token", "api_key", "API_KEY", "secret", "auth", "x", " ", "\n", "\r\n", "\t", "=", ":", ": ",
    " = ", "==", "+=", '"', "'", "`", "f", "hunter22", "sk-", "ab12CD34ef", "AKIA", "IOSFODNN7EXAMPLE", "eyJ", ".",
    "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "MIIEvQIBADANBg", "\\n", "://", "user", "@", "?",
    "&", ";", ",", "(", ")", "[", "]", "{", "}", "#", "--", "export ", "- ", "-u ", "$", "${X}", "Bearer ", "ghp_",
    "hf_", "xoxb-", "123-456-abc", "aB3dE5fG7hI9jK1lM2nOqR", "<password>", "</password>", REDACTED, "q7Zp2Lw9Xc", "é",
]


@settings(max_examples=400, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join))
def test_redact_properties_on_arbitrary_text(text: str):
    privacy = Privacy(None, [], ["q7Zp2Lw9Xc"])
    once = privacy.redact(text)
    assert once.count("\n") == text.count("\n")
    assert privacy.redact(once) == once
    assert "q7Zp2Lw9Xc" not in once


def test_empty_text():
    assert Privacy(None, []).redact("") == ""


def test_redact_is_fast_enough_per_snippet():
    text = "\n".join(ALL_TEXTS * 5)  # a few thousand lines
    start = time.perf_counter()
    Privacy(None, [], ["q7Zp2Lw9Xc"]).redact(text)
    assert time.perf_counter() - start < 2.0
