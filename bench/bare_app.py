"""The framework ceiling: a bare Flask route serving a 100-element submodel's JSON from memory."""
from flask import Flask, Response, json

from bench.fixtures import submodel

app = Flask(__name__)
_SUBMODEL = submodel("urn:bench:bare", 100)


@app.get("/bare")
def bare() -> Response:
    return Response(json.dumps(_SUBMODEL, separators=(",", ":")), mimetype="application/json")


@app.get("/api/v3.1/description")
def ready() -> Response:
    return Response("{}", mimetype="application/json")
