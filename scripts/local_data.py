"""Deploys the platform data stack (data/platform.yaml) into moto's CloudFormation, for the
resource types moto supports, and returns its outputs. Used by `local_seed.py platform`: the
local platform's shared file system is the one this stack makes.

Every type the stack uses that moto's CloudFormation cannot make is in LOCAL_STAND_INS with
how the local run covers it; `deploy` refuses to run when that list and moto disagree, so a
moto that learns a type (or a template that gains one) makes this file follow.
"""
import json
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "data" / "platform.yaml"
STACK = "bbws-dev-data"

# Type -> how the local run covers it instead (the README's local-stack section says the same).
LOCAL_STAND_INS = {
    "AWS::ElastiCache::ReplicationGroup":
        "not made; the product never calls Redis. Its settings are asserted by the policy-as-code rules",
    "AWS::ElastiCache::SubnetGroup": "not made, with the replication group",
    "AWS::ElastiCache::ParameterGroup": "not made, with the replication group",
    "AWS::SecretsManager::Secret": "not made, with the replication group (flush-cache's password)",
    "AWS::ElastiCache::User":
        "not made by moto's CloudFormation; the seed creates the same users (default off, "
        "flush-cache's) through the local front's ElastiCache, which sets them on redis-server",
    "AWS::ElastiCache::UserGroup":
        "not made by moto; the seed creates it through the local front's ElastiCache stand-in",
    # moto would answer it by invoking the function, which needs a container runtime.
    "Custom::EfsFileSystemPolicy":
        "this script runs the custom resource's own code (the template's inline function) "
        "against moto's EFS, with the same policy document",
}


def _references(value):
    """Logical ids a template value refers to (Ref, GetAtt, ${...} in Sub)."""
    import re

    out = set()
    if isinstance(value, list):
        for v in value:
            out |= _references(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k == "Ref":
                out.add(v)
            elif k == "Fn::GetAtt":
                out.add(v[0] if isinstance(v, list) else v.split(".")[0])
            elif k == "Fn::Sub":
                text = v if isinstance(v, str) else v[0]
                out |= {m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}
                out |= _references(v[1] if isinstance(v, list) else [])
            else:
                out |= _references(v)
    return out


def _moto_intrinsics(value):
    """Where moto's CloudFormation answers an intrinsic wrongly, the same value written so
    it answers it: it has no GetAtt Arn for EFS file systems and access points (the ARN is
    written in its documented form from the Ref, the id), and answers Ref of a DB subnet
    group with its own object (the group's name is written instead)."""
    kinds = {"AWS::EFS::FileSystem": "file-system", "AWS::EFS::AccessPoint": "access-point"}

    def walk(v, resources):
        if isinstance(v, list):
            return [walk(x, resources) for x in v]
        if isinstance(v, dict):
            if list(v) == ["Ref"] and resources.get(v["Ref"], {}).get("Type") == "AWS::RDS::DBSubnetGroup":
                return resources[v["Ref"]]["Properties"]["DBSubnetGroupName"]
            if list(v) == ["Fn::GetAtt"]:
                logical, attribute = (v["Fn::GetAtt"] if isinstance(v["Fn::GetAtt"], list)
                                      else v["Fn::GetAtt"].split(".", 1))
                kind = kinds.get(resources.get(logical, {}).get("Type"))
                if kind and attribute == "Arn":
                    return {"Fn::Sub": "arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:"
                                       "${AWS::AccountId}:%s/${%s}" % (kind, logical)}
            return {k: walk(x, resources) for k, x in v.items()}
        return v

    return walk(value, value["Resources"])


def _moto_numbers(resource):
    """CloudFormation gives an access point's PosixUser ids as strings (the resource's schema
    types them so) and EFS answers DescribeAccessPoints with numbers; moto keeps the strings,
    which the SDK cannot read: give it numbers."""
    if resource["Type"] != "AWS::EFS::AccessPoint":
        return resource
    out = json.loads(json.dumps(resource))
    user = out["Properties"].get("PosixUser", {})
    for key in ("Uid", "Gid"):
        if key in user:
            user[key] = int(user[key])
    return out


def local_template(template):
    """The template less the types moto cannot make and whatever depends on them; returns
    (template, {dropped logical id: type})."""
    resources = template["Resources"]
    dropped = {k: r["Type"] for k, r in resources.items() if r["Type"] in LOCAL_STAND_INS}
    changed = True
    while changed:  # and what refers to them, transitively
        changed = False
        for k, r in resources.items():
            if k not in dropped and _references(r) & set(dropped):
                dropped[k] = r["Type"]
                changed = True
    out = dict(template)
    out["Resources"] = {k: _moto_numbers(r) for k, r in resources.items() if k not in dropped}
    out["Outputs"] = {k: o for k, o in template.get("Outputs", {}).items()
                      if not _references(o) & set(dropped)}
    return _moto_intrinsics(out), dropped


def check_stand_ins(template):
    """The types this file stands in for are exactly those of the template moto lacks."""
    from moto.cloudformation.parsing import get_model_map

    used = {r["Type"] for r in template["Resources"].values()}
    lacking = {t for t in used if t.startswith("Custom::") or t not in get_model_map()}
    if lacking != set(LOCAL_STAND_INS):
        raise SystemExit(f"scripts/local_data.py: moto lacks {sorted(lacking)}, "
                         f"LOCAL_STAND_INS names {sorted(LOCAL_STAND_INS)}")


def policy_function(template):
    """The template's file-system policy function (its inline code), as a module."""
    code = template["Resources"]["FileSystemPolicyFunction"]["Properties"]["Code"]["ZipFile"]
    module = types.ModuleType("file_system_policy")
    # The inline code imports cfnresponse, which Lambda provides for inline functions; only
    # its `apply` runs here, so a stand-in module is enough.
    import sys

    sys.modules.setdefault("cfnresponse", types.ModuleType("cfnresponse"))
    exec(compile(code, "FileSystemPolicyFunction", "exec"), module.__dict__)
    return module


def network(ec2):
    """A VPC with a private subnet in each of two Availability Zones (made once)."""
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["bbws-local"]}])["Vpcs"]
    if vpcs:
        vpc = vpcs[0]["VpcId"]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
        return vpc, sorted(s["SubnetId"] for s in subnets)
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "bbws-local"}]}])["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24",
                                 AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
               for i, az in enumerate("ab")]
    return vpc, sorted(subnets)


def deploy(client, environment="dev"):
    """Creates (or finds) the data stack in moto; applies its file-system policy as the
    custom resource would; returns {"outputs", "exports", "dropped", "policy"}."""
    from cfnlint.decode import decode  # the project's venv has cfn-lint

    template, errors = decode(str(TEMPLATE))
    if errors:
        raise SystemExit(f"{TEMPLATE}: {errors}")
    check_stand_ins(template)
    local, dropped = local_template(template)
    cfn = client("cloudformation")
    vpc, subnets = network(client("ec2"))
    try:
        stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    except cfn.exceptions.ClientError:
        cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(local), Parameters=[
            {"ParameterKey": "Environment", "ParameterValue": environment},
            {"ParameterKey": "VpcId", "ParameterValue": vpc},
            {"ParameterKey": "PrivateSubnetIds", "ParameterValue": ",".join(subnets)},
        ], Capabilities=["CAPABILITY_IAM"])
        stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise SystemExit(f"{STACK}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    efs = client("efs")
    # moto answers Ref of an EFS access point with its own object: read the ARN from EFS.
    root = [a for a in efs.describe_access_points(FileSystemId=outputs["FileSystemId"])["AccessPoints"]
            if a.get("RootDirectory", {}).get("Path") == "/"]
    outputs["RootAccessPointArn"] = root[0]["AccessPointArn"]
    bad = {k: v for k, v in outputs.items() if "<moto." in v}
    if bad:
        raise SystemExit(f"{STACK}: moto answered outputs with its objects: {bad}")
    prefix = f"bbws-{environment}-data-"
    exports = {prefix + k: v for k, v in outputs.items()
               if any(e["Name"] == prefix + k for e in cfn.list_exports()["Exports"])}

    # The file-system policy: the custom resource's properties as CloudFormation would send
    # them (its two ARNs resolved), run through the template's own function code.
    fs_arn, ap_arn = outputs["FileSystemArn"], outputs["RootAccessPointArn"]
    properties = json.loads(json.dumps(
        template["Resources"]["FileSystemPolicy"]["Properties"])
        .replace(json.dumps({"Fn::GetAtt": ["FileSystem", "Arn"]}), json.dumps(fs_arn))
        .replace(json.dumps({"Fn::GetAtt": ["RootAccessPoint", "Arn"]}), json.dumps(ap_arn))
        .replace(json.dumps({"Ref": "FileSystem"}), json.dumps(outputs["FileSystemId"])))
    properties["Policy"] = _resolve_account(properties["Policy"], fs_arn)
    policy_function(template).apply(efs, {"RequestType": "Create", "ResourceProperties": properties})
    policy = json.loads(efs.describe_file_system_policy(FileSystemId=outputs["FileSystemId"])["Policy"])
    return {"outputs": outputs, "exports": exports, "dropped": dropped, "policy": policy}


def _resolve_account(policy, fs_arn):
    """The policy as EFS gets it: refused if an intrinsic is left unresolved (the file
    system's and the root access point's ARNs are put in by the caller)."""
    text = json.dumps(policy)
    if "Fn::" in text or '"Ref"' in text:
        raise SystemExit(f"file-system policy: an intrinsic is left unresolved: {text}")
    return policy
