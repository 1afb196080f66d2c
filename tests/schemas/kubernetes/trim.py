# Trims kubernetes-validate's _definitions.json to what the given kind schemas reference.
import json, re, sys
src, out, kinds = sys.argv[1], sys.argv[2], sys.argv[3:]
defs = json.load(open(f"{src}/_definitions.json"))
keep, todo = set(), []
def refs(node):
    return re.findall(r'"\$ref": "[^"#]*#/\$defs/([^"]+)"', json.dumps(node))
for kind in kinds:
    todo += refs(json.load(open(f"{src}/{kind}")))
while todo:
    name = todo.pop()
    if name not in keep:
        keep.add(name)
        todo += refs(defs["$defs"][name])
defs["$defs"] = {k: defs["$defs"][k] for k in sorted(keep)}
json.dump(defs, open(out, "w"), indent=2, sort_keys=False)
open(out, "a").write("\n")
print(len(keep), "definitions")
