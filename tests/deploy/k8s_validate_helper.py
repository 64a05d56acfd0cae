"""Runs kubernetes-validate over resources read as JSON from stdin; prints one JSON result.

Started by test_k8s_schemas.py in a subprocess whose PYTHONPATH is the kubernetes-validate
install under .data/deploy-tools, so its pinned dependencies never mix with the project's.
Input: {"version": "1.31.0", "strict": true, "resources": [{"id": ..., "resource": {...}}]}.
Output: {"kubernetes_validate": "<version>", "errors": [{"id": ..., "error": "..."}]}.
"""

import json
import sys

import kubernetes_validate
from kubernetes_validate import utils


def main() -> None:
    request = json.load(sys.stdin)
    errors = []
    for item in request["resources"]:
        try:
            kubernetes_validate.validate(item["resource"], request["version"], request["strict"])
        except utils.ValidationError as exc:
            path = "/".join(str(part) for part in exc.path)
            errors.append({"id": item["id"], "error": f"{path}: {exc.message}"})
        except (utils.SchemaNotFoundError, utils.InvalidSchemaError) as exc:
            errors.append({"id": item["id"], "error": str(exc)})
    json.dump({"kubernetes_validate": kubernetes_validate.__version__, "errors": errors}, sys.stdout)


if __name__ == "__main__":
    main()
