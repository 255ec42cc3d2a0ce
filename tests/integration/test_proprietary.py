"""Proprietary data (issue 12): metadata public, data protected until their
release date, the project's PI, delegates and staff let in, nobody else.

The archive: the PHANGS-MUSE demo cubes (`voserver make-demo`, small), whose
NGC1087 cube carries PROG_ID 112.VOSR.001 and RELDATE 2099-12-31T00:00:00
(read through the collection's release_date_keyword); every other cube is
public. Users: pi (PI of 112.VOSR.001), friend (a delegate), other, staff.
Bearer tokens come from a key pair made here, as an OpenID Connect provider's.

The test matrix asserts, for every door that serves a product's bytes or
metadata and every kind of caller, the HTTP status, and that no byte of a
protected product is ever in a response to someone without rights."""
import base64
import hashlib
import hmac
import json
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jwt
import pytest
import requests
from astropy.io.votable import parse_single_table
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import conftest

PROJECT = "112.VOSR.001"
RELEASE = "2099-12-31T00:00:00"
ISSUER = "https://sso.voserver.test/realms/archive"
AUDIENCE = "voserver-test"
PASSWORDS = {"pi": "pi-secret-1", "friend": "friend-secret-2", "other": "other-secret-3", "staff": "staff-secret-4"}
CUBE_WIDTH = 6


def run(*args, stdin=None):
    done = subprocess.run([str(conftest.VOSERVER), *map(str, args)], input=stdin, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def keypair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def write_config(work: Path, public_pem: Path, extra: str = "", collection_extra: str = "") -> Path:
    cfg = work / "voserver.toml"
    cfg.write_text(f"""
[server]
host = "127.0.0.1"
port = 0

[archive]
authority = "voserver.test"
database = "{work / 'store.sqlite'}"
profiles = ["{conftest.ROOT / 'conf' / 'profiles' / 'alma.toml'}"]

[auth]
max_failed_logins = 1000
{extra}

[auth.jwt]
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
public_key = "{public_pem}"
algorithm = "RS256"

[demo]
out_dir = "{work / 'cubes'}"

[[collection]]
name = "phangs-muse"
directories = ["{work / 'cubes'}"]
release_date_keyword = "RELDATE"
{collection_extra}
""")
    return cfg


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    work = tmp_path_factory.mktemp("proprietary")
    private, public = keypair()
    (work / "sso.pem").write_bytes(public)
    cfg = write_config(work, work / "sso.pem")
    run("make-demo", "--config", cfg, "--nx", CUBE_WIDTH, "--ny", CUBE_WIDTH, "--nchan", 40)
    done = conftest.ingest(cfg, work / "cubes", "phangs-muse")
    assert done.returncode == 0, done.stdout + done.stderr
    for user, password in PASSWORDS.items():
        run("users", "add", user, *(["--staff"] if user == "staff" else []), "--config", cfg, stdin=password + "\n")
    run("projects", "set-pi", PROJECT, "pi", "--config", cfg)
    run("projects", "delegate", PROJECT, "friend", "--config", cfg)
    cubes = work / "cubes"
    with conftest.running_server(cfg, work) as base:
        yield {"base": base, "work": work, "cfg": cfg, "private": private, "public": public,
               "secret": (cubes / "NGC1087_PHANGS_DATACUBE_native.fits").read_bytes(),
               "public_file": (cubes / "NGC0628_PHANGS_DATACUBE_native.fits").read_bytes()}


@pytest.fixture(scope="module")
def released_today(archive):
    """The same archive on the day NGC1087's cube is released (VOSERVER_NOW =
    its release date, 2099-12-31T00:00:00): the "released-today" product."""
    with conftest.running_server(archive["cfg"], archive["work"], env={"VOSERVER_NOW": RELEASE},
                                 log_name="server-release-day.log") as base:
        yield base


def did_of(galaxy):
    return f"ivo://voserver.test/phangs-muse?{galaxy}_PHANGS_DATACUBE_native"


SECRET = did_of("NGC1087")
PUBLIC = did_of("NGC0628")


def token(private, **claims):
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "pi", "iat": now, "exp": now + 600}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, private, algorithm="RS256")


def auth_for(who, archive):
    """requests' auth argument / headers for a kind of caller."""
    if who == "anonymous":
        return {}
    if who == "bad":
        return {"auth": ("pi", "wrong password")}
    if who == "bearer-pi":
        return {"headers": {"Authorization": "Bearer " + token(archive["private"])}}
    return {"auth": (who, PASSWORDS[who])}


def get(archive, path, who="anonymous", method="GET", **kwargs):
    a = auth_for(who, archive)
    headers = {**a.get("headers", {}), **kwargs.pop("headers", {})}
    return requests.request(method, archive["base"] + path, auth=a.get("auth"), headers=headers,
                            timeout=conftest.TIMEOUT, allow_redirects=False, **kwargs)


def leaks(body: bytes, secret: bytes) -> bool:
    """True when `body` holds bytes of the protected file: its header cards
    (SIMPLE, the RELDATE card) or any 64-byte run of its data units."""
    if b"SIMPLE  =" in body or b"112.VOSR.001" in body and b"RELDATE" in body:
        return True
    data = secret[-4 * 2880:]
    return any(data[i:i + 64] in body for i in range(0, len(data) - 64, 512) if data[i:i + 64].strip(b"\0"))


CENTRES = {"NGC1087": "41.605671+-0.496457", "NGC0628": "24.173028+15.780972"}
DOORS = {  # name -> (path for a DID, what a success returns)
    "download": (lambda did: "/datalink/file?ID=" + requests.utils.quote(did, safe=""), 200),
    "download-range": (lambda did: "/datalink/file?ID=" + requests.utils.quote(did, safe=""), 206),
    "preview": (lambda did: "/datalink/preview?ID=" + requests.utils.quote(did, safe="") + "&KIND=mean", 200),
    "cutout": (lambda did: "/soda/sync?ID=" + requests.utils.quote(did, safe="") + "&CIRCLE="
               + CENTRES[did.split("?")[-1][:7].upper()] + "+0.0003", 200),
}
ALLOWED = {"anonymous": False, "other": False, "friend": True, "pi": True, "staff": True, "bearer-pi": True}


@pytest.mark.parametrize("door", sorted(DOORS))
@pytest.mark.parametrize("who", sorted(ALLOWED) + ["bad"])
@pytest.mark.parametrize("product", ["public", "proprietary", "released-today"])
def test_matrix_of_doors_callers_and_products(archive, released_today, door, who, product):
    path, ok = DOORS[door]
    did = PUBLIC if product == "public" else SECRET
    headers = {"Range": "bytes=0-99"} if door == "download-range" else {}
    server = {**archive, "base": released_today} if product == "released-today" else archive
    r = get(server, path(did), who, headers=headers)
    public = product != "proprietary"
    if who == "bad":  # bad credentials are refused whatever is asked
        assert r.status_code == 401, r.text
        assert r.headers["WWW-Authenticate"].startswith("Basic realm=")
    elif public or ALLOWED[who]:
        assert r.status_code == ok, r.text[:500]
        if door.startswith("download") and product != "public":
            expected = archive["secret"] if door == "download" else archive["secret"][:100]
            assert r.content == expected
    else:
        assert r.status_code == (401 if who == "anonymous" else 403), r.text[:500]
        assert "AuthenticationError" in r.text if who == "anonymous" else "AuthorizationError" in r.text
        if who == "anonymous":
            assert any(c.startswith("Basic realm=") for c in r.headers["WWW-Authenticate"].split(", Bearer"))
    if not (public or ALLOWED.get(who, False)):
        assert not leaks(r.content, archive["secret"])


def test_post_and_head_and_case_variants_reach_no_bytes(archive):
    secret = archive["secret"]
    for who in ("anonymous", "other"):
        refused = 401 if who == "anonymous" else 403
        r = get(archive, "/soda/sync", who, method="POST", data={"ID": SECRET, "CIRCLE": "41.605671 -0.496457 0.0003"})
        assert r.status_code == refused and not leaks(r.content, secret)
        r = get(archive, "/datalink/file?ID=" + requests.utils.quote(SECRET, safe=""), who, method="HEAD")
        assert r.status_code == refused and "Content-Length" not in r.headers or \
            int(r.headers.get("Content-Length", 0)) != len(secret)
        # the DID in other letter case, the obs_id alone, a guessed file URL: no dataset, no bytes
        for variant in (SECRET.upper(), SECRET.replace("NGC1087", "ngc1087"), "NGC1087_PHANGS_DATACUBE_native"):
            for door in ("download", "cutout"):
                r = get(archive, DOORS[door][0](variant), who)
                assert r.status_code in (401, 403, 404) and not leaks(r.content, secret), (variant, door)
        for guess in ("/datalink/file?ID=" + str(archive["work"] / "cubes" / "NGC1087_PHANGS_DATACUBE_native.fits"),
                      "/NGC1087_PHANGS_DATACUBE_native.fits", "/datalink/file?ID=" + SECRET + "&FILE=1",
                      "/datalink/file/../cubes/NGC1087_PHANGS_DATACUBE_native.fits"):
            r = get(archive, guess, who)
            assert r.status_code >= 400 and not leaks(r.content, secret), guess


def soda_async(archive, who, did):
    r = get(archive, "/soda/async", who, method="POST",
            data={"ID": did, "CIRCLE": "41.605671 -0.496457 0.0003", "PHASE": "RUN"})
    return r


def wait_job(archive, url, who):
    for _ in range(200):
        r = get(archive, url.replace(archive["base"], "") + "/phase", who)
        if r.text in ("COMPLETED", "ERROR", "ABORTED"):
            return r.text
        time.sleep(0.05)
    return r.text


def test_soda_async_refused_for_others_and_owned_by_its_creator(archive):
    assert soda_async(archive, "anonymous", SECRET).status_code == 401
    assert soda_async(archive, "other", SECRET).status_code == 403
    r = soda_async(archive, "friend", SECRET)
    assert r.status_code == 303, r.text
    job = r.headers["Location"]
    assert wait_job(archive, job, "friend") == "COMPLETED"
    path = job.replace(archive["base"], "")
    assert get(archive, path + "/owner", "friend").text == "friend"
    result = get(archive, path + "/results/result", "friend")
    assert result.status_code == 200 and result.content[:9] == b"SIMPLE  ="
    # nobody else reads, lists, changes or fetches the job
    for who, status in (("anonymous", 401), ("other", 403), ("pi", 403)):
        assert get(archive, path, who).status_code == status
        r = get(archive, path + "/results/result", who)
        assert r.status_code == status and not leaks(r.content, archive["secret"]) and b"SIMPLE" not in r.content
        assert get(archive, path, who, method="DELETE").status_code == status
        assert get(archive, path + "/phase", who, method="POST", data={"PHASE": "ABORT"}).status_code == status
    listed = get(archive, "/soda/async", "friend").text
    assert path.split("/")[-1] in listed
    assert path.split("/")[-1] not in get(archive, "/soda/async", "other").text
    assert "<uws:jobref" not in get(archive, "/soda/async", "anonymous").text


def test_an_anonymous_async_job_cannot_be_switched_to_a_protected_product(archive):
    # created for a public product, then its ID changed while PENDING: the run checks again
    r = get(archive, "/soda/async", "anonymous", method="POST", data={"ID": PUBLIC, "CIRCLE": "24.173 15.781 0.0003"})
    assert r.status_code == 303
    path = r.headers["Location"].replace(archive["base"], "")
    assert get(archive, path + "/parameters", method="POST", data={"ID": SECRET}).status_code == 303
    get(archive, path + "/phase", method="POST", data={"PHASE": "RUN"})
    assert wait_job(archive, r.headers["Location"], "anonymous") == "ERROR"
    error = get(archive, path + "/error").text
    assert "AuthenticationError" in error
    assert get(archive, path + "/results/result").status_code == 404


def test_tap_async_jobs_have_owners(archive):
    r = get(archive, "/tap/async", "pi", method="POST",
            data={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore", "PHASE": "RUN"})
    assert r.status_code == 303
    path = r.headers["Location"].replace(archive["base"], "")
    assert wait_job(archive, r.headers["Location"], "pi") == "COMPLETED"
    job = ET.fromstring(get(archive, path, "pi").content)
    assert job.find("{http://www.ivoa.net/xml/UWS/v1.0}ownerId").text == "pi"
    assert get(archive, path, "other").status_code == 403
    assert get(archive, path + "/results/result", "anonymous").status_code == 401
    assert path.split("/")[-1] in get(archive, "/tap/async", "pi").text
    assert path.split("/")[-1] not in get(archive, "/tap/async", "friend").text
    # an anonymous job is reached through its URL only
    r = get(archive, "/tap/async", method="POST", data={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"})
    anon = r.headers["Location"].replace(archive["base"], "")
    assert get(archive, anon).status_code == 200
    assert anon.split("/")[-1] not in get(archive, "/tap/async").text
    assert len(anon.split("/")[-1]) == 32  # 128 random bits


def test_datalink_says_who_may_use_each_link(archive):
    def links(who):
        r = get(archive, "/datalink/sync", who, method="POST", data={"ID": [SECRET, PUBLIC]})
        assert r.status_code == 200
        t = parse_single_table(__import__("io").BytesIO(r.content)).to_table()
        return {(row["ID"], row["semantics"]): (str(row["link_auth"]), bool(row["link_authorized"])) for row in t}
    anonymous, pi, other = links("anonymous"), links("pi"), links("other")
    assert anonymous[(SECRET, "#this")] == ("true", False)
    assert anonymous[(PUBLIC, "#this")] == ("optional", True)
    assert pi[(SECRET, "#this")] == ("true", True)
    assert pi[(SECRET, "#cutout")] == ("true", True)
    assert other[(SECRET, "#preview")] == ("true", False)


def test_metadata_are_public_and_data_rights_follow_the_release_date(archive):
    r = get(archive, "/tap/sync", data={"LANG": "ADQL", "QUERY": "SELECT obs_publisher_did, proposal_id, "
                                        "obs_release_date, data_rights FROM ivoa.obscore ORDER BY obs_id"},
            method="POST")
    t = parse_single_table(__import__("io").BytesIO(r.content)).to_table()
    rows = {row["obs_publisher_did"]: row for row in t}
    assert len(rows) == 19
    assert rows[SECRET]["proposal_id"] == PROJECT
    assert str(rows[SECRET]["obs_release_date"]).startswith("2099-12-31T00:00:00")
    assert rows[SECRET]["data_rights"] == "Proprietary"
    assert rows[PUBLIC]["data_rights"] == "Public"


@pytest.mark.parametrize("now,released", [("2099-12-30T23:59:59", False), ("2099-12-31T00:00:00", True),
                                          ("2101-01-01T00:00:00", True)])
def test_the_release_date_passing_makes_the_product_public_without_reingest(archive, now, released):
    log = "server-" + now.replace(":", "") + ".log"
    with conftest.running_server(archive["cfg"], archive["work"], env={"VOSERVER_NOW": now}, log_name=log) as base:
        r = requests.get(base + "/datalink/file?ID=" + requests.utils.quote(SECRET, safe=""), timeout=conftest.TIMEOUT)
        assert r.status_code == (200 if released else 401)
        assert (r.content == archive["secret"]) == released
        q = requests.get(base + "/tap/sync", params={"LANG": "ADQL", "QUERY": "SELECT data_rights FROM ivoa.obscore "
                                                     f"WHERE obs_publisher_did = '{SECRET}'", "RESPONSEFORMAT": "csv"},
                         timeout=conftest.TIMEOUT)
        assert q.text.split()[-1] == ("Public" if released else "Proprietary")


def test_bad_credentials_and_tokens(archive):
    priv = archive["private"]
    other_private, _ = keypair()
    now = int(time.time())
    file = "/datalink/file?ID=" + requests.utils.quote(SECRET, safe="")
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps({"iss": ISSUER, "aud": AUDIENCE, "sub": "pi",
                                                   "exp": now + 600}).encode()).rstrip(b"=").decode()
    hs_header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()).rstrip(b"=").decode()
    hs_sig = base64.urlsafe_b64encode(hmac.new(archive["public"], f"{hs_header}.{payload}".encode(),
                                               hashlib.sha256).digest()).rstrip(b"=").decode()
    bad = {
        "wrong password": {"Authorization": "Basic " + base64.b64encode(b"pi:nope").decode()},
        "unknown user": {"Authorization": "Basic " + base64.b64encode(b"mallory:pi-secret-1").decode()},
        "not base64": {"Authorization": "Basic !!!not-base64!!!"},
        "no colon": {"Authorization": "Basic " + base64.b64encode(b"pi").decode()},
        "unknown scheme": {"Authorization": "Digest username=pi"},
        "empty bearer": {"Authorization": "Bearer "},
        "expired": {"Authorization": "Bearer " + token(priv, exp=now - 3600, iat=now - 7200)},
        "not yet valid": {"Authorization": "Bearer " + token(priv, nbf=now + 3600)},
        "wrong issuer": {"Authorization": "Bearer " + token(priv, iss="https://evil.example")},
        "wrong audience": {"Authorization": "Bearer " + token(priv, aud="someone-else")},
        "no expiry": {"Authorization": "Bearer " + token(priv, exp=None)},
        "alg none": {"Authorization": f"Bearer {header}.{payload}."},
        "HS256 with the public key": {"Authorization": f"Bearer {hs_header}.{payload}.{hs_sig}"},
        "another key": {"Authorization": "Bearer " + token(other_private)},
        "garbage token": {"Authorization": "Bearer abc.def.ghi"},
    }
    for name, headers in bad.items():
        r = requests.get(archive["base"] + file, headers=headers, timeout=conftest.TIMEOUT)
        assert r.status_code == 401, name
        assert "AuthenticationError" in r.text and not leaks(r.content, archive["secret"]), name
        assert "Basic realm=" in r.headers["WWW-Authenticate"], name
    # an audience list naming this service, and the good token itself, are accepted
    for good in (token(priv), token(priv, aud=["other", AUDIENCE])):
        r = requests.get(archive["base"] + file, headers={"Authorization": "Bearer " + good}, timeout=conftest.TIMEOUT)
        assert r.status_code == 200 and r.content == archive["secret"]
    audit = (archive["work"] / "audit.log").read_text()
    assert "user=pi action=login" in audit and "outcome=failed-401" in audit
    assert f"user=pi action=download id={SECRET} outcome=granted" in audit
    assert f"user=- action=download id={SECRET} outcome=refused-401" in audit


def test_failed_logins_are_rate_limited(archive, tmp_path):
    cfg = write_config(tmp_path, archive["work"] / "sso.pem",
                       extra=f'users_database = "{archive["work"] / "users.sqlite"}"\nmax_failed_logins = 3\n'
                             'failed_login_window_seconds = 60')
    cfg.write_text(cfg.read_text().replace("max_failed_logins = 1000\n", ""))
    (tmp_path / "cubes").symlink_to(archive["work"] / "cubes")
    (tmp_path / "store.sqlite").symlink_to(archive["work"] / "store.sqlite")
    with conftest.running_server(cfg, tmp_path) as base:
        for _ in range(3):
            assert requests.get(base + "/tap/capabilities", auth=("pi", "wrong"), timeout=30).status_code == 401
        r = requests.get(base + "/tap/capabilities", auth=("pi", PASSWORDS["pi"]), timeout=30)
        assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
        assert requests.get(base + "/tap/capabilities", timeout=30).status_code == 200  # anonymous still served


def test_delegation_by_the_pi_and_not_by_a_delegate(archive):
    path = f"/auth/projects/{PROJECT}/delegates"
    file = "/datalink/file?ID=" + requests.utils.quote(SECRET, safe="")
    assert get(archive, file, "other").status_code == 403
    assert get(archive, path + "/other", "friend", method="PUT").status_code == 403  # a delegate cannot delegate
    assert get(archive, path + "/other", "anonymous", method="PUT").status_code == 401
    assert get(archive, path, "other").status_code == 403
    assert get(archive, path + "/other", "pi", method="PUT").status_code == 204
    assert json.loads(get(archive, path, "pi").text)["delegates"] == ["friend", "other"]
    time.sleep(1.1)  # the server reloads the users store at most once a second
    r = get(archive, file, "other")
    assert r.status_code == 200 and r.content == archive["secret"]
    assert get(archive, path + "/other", "pi", method="DELETE").status_code == 204
    time.sleep(1.1)
    assert get(archive, file, "other").status_code == 403
    assert get(archive, path + "/nobody", "pi", method="PUT").status_code == 400  # no such user
    who = json.loads(get(archive, "/auth/whoami", "friend").text)
    assert who == {"user": "friend", "staff": False, "method": "basic", "projects": [PROJECT]}


def test_capabilities_declare_the_security_methods(archive):
    for service in ("tap", "soda", "datalink", "sia2"):
        caps = get(archive, f"/{service}/capabilities").text
        assert 'standardID="ivo://ivoa.net/sso#BasicAA"' in caps, service
        assert 'standardID="ivo://ivoa.net/sso#token"' in caps, service
        assert "<securityMethod/>" in caps, service


def test_pyvo_auth_session_downloads_a_proprietary_product_as_its_pi(archive, tmp_path):
    import pyvo
    from pyvo.auth import authsession, securitymethods

    auth = authsession.AuthSession()
    auth.credentials.set_password("pi", PASSWORDS["pi"])
    service = pyvo.dal.TAPService(archive["base"] + "/tap", session=auth)
    auth.update_from_capabilities(service.capabilities)
    dl = pyvo.dal.adhoc.DatalinkResults.from_result_url(
        archive["base"] + "/datalink/sync?ID=" + requests.utils.quote(SECRET, safe=""), session=auth)
    this = [link for link in dl if link.semantics == "#this"][0]
    assert this["link_authorized"]
    data = auth.get(this.access_url, timeout=conftest.TIMEOUT)
    assert data.status_code == 200 and data.content == archive["secret"]
    # and without credentials pyvo gets the 401
    anonymous = pyvo.dal.adhoc.DatalinkResults.from_result_url(
        archive["base"] + "/datalink/sync?ID=" + requests.utils.quote(SECRET, safe=""), session=conftest.session())
    link = [row for row in anonymous if row.semantics == "#this"][0]
    assert not link["link_authorized"]
    assert requests.get(link.access_url, timeout=conftest.TIMEOUT).status_code == 401
    assert securitymethods.BASIC in auth._auth_urls.allowed_auth_methods(this.access_url)


@pytest.fixture(scope="module")
def protected(archive, tmp_path_factory):
    """The same store served with the collection's metadata protected."""
    work = tmp_path_factory.mktemp("protected")
    cfg = write_config(work, archive["work"] / "sso.pem",
                       extra=f'users_database = "{archive["work"] / "users.sqlite"}"',
                       collection_extra="metadata_protected = true")
    text = cfg.read_text().replace(str(work / "store.sqlite"), str(archive["work"] / "store.sqlite"))
    cfg.write_text(text.replace(str(work / "cubes"), str(archive["work"] / "cubes")))
    with conftest.running_server(cfg, work) as base:
        yield {**archive, "base": base}


PROTECTED_QUERIES = {  # ADQL -> (rows anonymous / another user see, rows the PI sees); NGC1087 is the protected row
    "SELECT COUNT(*) AS n FROM ivoa.obscore": ([18], [19]),
    "SELECT obs_id FROM ivoa.obscore WHERE target_name = 'NGC1087'": ([], ["NGC1087_PHANGS_DATACUBE_native"]),
    "SELECT o.obs_id FROM ivoa.obscore AS o WHERE o.obs_id IN "
    "(SELECT i.obs_id FROM ivoa.obscore AS i WHERE i.proposal_id = '112.VOSR.001')":
        ([], ["NGC1087_PHANGS_DATACUBE_native"]),
    "SELECT a.obs_id FROM ivoa.obscore AS a JOIN ivoa.obscore AS b ON a.obs_id = b.obs_id "
    "WHERE b.target_name = 'NGC1087'": ([], ["NGC1087_PHANGS_DATACUBE_native"]),
    "SELECT obs_id FROM ivoa.obscore WHERE target_name = 'NGC0628' UNION "
    "SELECT obs_id FROM ivoa.obscore WHERE target_name = 'NGC1087' ORDER BY obs_id":
        (["NGC0628_PHANGS_DATACUBE_native"], ["NGC0628_PHANGS_DATACUBE_native", "NGC1087_PHANGS_DATACUBE_native"]),
    "WITH p AS (SELECT * FROM ivoa.obscore WHERE proposal_id = '112.VOSR.001') SELECT COUNT(*) AS n FROM p":
        ([0], [1]),
    "SELECT COUNT(*) AS n FROM ivoa.obscore WHERE EXISTS (SELECT 1 FROM ivoa.obscore AS x "
    "WHERE x.target_name = 'NGC1087')": ([0], [19]),
    "SELECT COUNT(*) AS n FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
    "CIRCLE('ICRS', 41.605671, -0.496457, 0.01))": ([0], [1]),
}


def tap_values(base, query, who, archive, **extra):
    a = auth_for(who, archive)
    r = requests.post(base + "/tap/sync", data={"LANG": "ADQL", "QUERY": query, **extra.get("data", {})},
                      files=extra.get("files"), auth=a.get("auth"), headers=a.get("headers", {}),
                      timeout=conftest.TIMEOUT)
    assert r.status_code == 200, r.text
    t = parse_single_table(__import__("io").BytesIO(r.content)).to_table()
    return [v.item() if hasattr(v, "item") else str(v) for v in t.columns[0]]


@pytest.mark.parametrize("query", sorted(PROTECTED_QUERIES))
def test_protected_metadata_cannot_be_seen_counted_or_joined(protected, query):
    hidden, seen = PROTECTED_QUERIES[query]
    for who in ("anonymous", "other"):
        assert tap_values(protected["base"], query, who, protected) == hidden, who
    for who in ("pi", "friend", "staff", "bearer-pi"):
        assert tap_values(protected["base"], query, who, protected) == seen, who


def test_protected_metadata_through_uploads_siav2_datalink_and_async(protected):
    upload = ('<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
              '<RESOURCE><TABLE><FIELD name="oid" datatype="char" arraysize="*"/><DATA><TABLEDATA>'
              '<TR><TD>NGC1087_PHANGS_DATACUBE_native</TD></TR><TR><TD>NGC0628_PHANGS_DATACUBE_native</TD></TR>'
              '</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>')
    query = "SELECT o.obs_id FROM ivoa.obscore AS o JOIN TAP_UPLOAD.ids AS u ON o.obs_id = u.oid ORDER BY o.obs_id"
    extra = {"data": {"UPLOAD": "ids,param:ids"}, "files": {"ids": ("ids.xml", upload)}}
    assert tap_values(protected["base"], query, "anonymous", protected, **extra) == ["NGC0628_PHANGS_DATACUBE_native"]
    assert len(tap_values(protected["base"], query, "pi", protected, **extra)) == 2
    # SIAv2 by ID and by target
    for params in ({"ID": SECRET}, {"TARGET": "NGC1087"}):
        for who, n in (("anonymous", 0), ("pi", 1)):
            r = get(protected, "/sia2/query?" + requests.compat.urlencode(params), who)
            assert r.status_code == 200
            assert len(parse_single_table(__import__("io").BytesIO(r.content)).to_table()) == n, (params, who)
    # DataLink: the hidden ID is not found for others (no file, no size, no bounds)
    r = get(protected, "/datalink/sync?ID=" + requests.utils.quote(SECRET, safe=""), "other")
    t = parse_single_table(__import__("io").BytesIO(r.content)).to_table()
    assert len(t) == 1 and str(t[0]["error_message"]).startswith("NotFoundFault")
    assert str(len(protected["secret"])) not in r.text
    r = get(protected, "/datalink/sync?ID=" + requests.utils.quote(SECRET, safe=""), "pi")
    assert "#this" in r.text and str(len(protected["secret"])) in r.text
    # by obs_id (as astroquery.alma asks) and by POST: the same
    for who, found in (("anonymous", False), ("other", False), ("friend", True)):
        r = get(protected, "/datalink/sync", who, method="POST", data={"ID": "NGC1087_PHANGS_DATACUBE_native"})
        assert (str(len(protected["secret"])) in r.text) == found and ("Fault: " in r.text) != found, who
    # async jobs run with their owner's rights
    for who, n in (("anonymous", 18), ("pi", 19)):
        r = get(protected, "/tap/async", who, method="POST",
                data={"LANG": "ADQL", "QUERY": "SELECT COUNT(*) FROM ivoa.obscore", "PHASE": "RUN",
                      "RESPONSEFORMAT": "csv"})
        assert wait_job(protected, r.headers["Location"], who) == "COMPLETED"
        path = r.headers["Location"].replace(protected["base"], "")
        assert get(protected, path + "/results/result", who).text.split()[-1] == str(n)
