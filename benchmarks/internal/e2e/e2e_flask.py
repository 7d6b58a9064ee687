"""The seeds' own system for the end-to-end benchmark (benchmarks/internal/e2e).

Flask with Flask-Caching serves the same 2 KiB JSON page as the Go servers at
/products, cached by @cache.cached() for an hour, under gunicorn. The cache is
chosen by the environment:

  E2E_CACHE_TYPE   SimpleCache or RedisCache
  E2E_REDIS_URL    RedisCache's server (CACHE_REDIS_URL)
  E2E_PREFIX       RedisCache's key prefix (CACHE_KEY_PREFIX)

Every response says X-Cache: HIT when the view did not run, MISS when it did,
like the Go servers' status header.
"""
import os

from flask import Flask, g
from flask_caching import Cache

app = Flask(__name__)
config = {"CACHE_TYPE": os.environ["E2E_CACHE_TYPE"], "CACHE_DEFAULT_TIMEOUT": 3600}
if config["CACHE_TYPE"] == "RedisCache":
    config["CACHE_REDIS_URL"] = os.environ["E2E_REDIS_URL"]
    config["CACHE_KEY_PREFIX"] = os.environ["E2E_PREFIX"]
cache = Cache(app, config=config)

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "page.json"), "rb") as f:
    PAGE = f.read()


@app.route("/products")
@cache.cached()
def products():
    g.view_ran = True
    return PAGE, 200, {"Content-Type": "application/json"}


@app.after_request
def cache_status(response):
    response.headers["X-Cache"] = "MISS" if g.get("view_ran") else "HIT"
    return response
