#!/usr/bin/env python3
"""Regenerates fuzz/seeds/<target>/ from the repository's own test data (run from anywhere).

words, command: commands from crates/cli/tests/corpus/{positive,negative}.expected.jsonl and
crates/portcullis/tests/e2e/{corpus,s3_corpus}.txt, plus structured `command` seeds (a byte
picking an operation from OPS in fuzz_targets/command.rs, then arguments).
shorthand: every input of crates/shorthand/tests/data/shorthand-cases.json, plus arguments of
the commands that look like shorthand.
decode: every case of the output protocol vectors embedded by fuzz_targets/decode.rs (same order,
so the selector matches), plus hand-written responses for the real operations in its REAL list.
jmespath: every expression of crates/output/tests/data/jmespath-cases.json alone and followed by
a NUL and its case's document (only a few for documents over 1.5 KB), every query of
crates/output/tests/data/documents.json followed by its response (up to 1.5 KB), and expressions that multiply or nest what they build (the evaluator's bounds).
Seeds are named by the SHA-1 of their content, as libFuzzer names corpus files.
"""
import hashlib, json, os, re, shlex, struct, sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def commands():
    out = []
    for name in ("positive", "negative"):
        with open(os.path.join(ROOT, "crates/cli/tests/corpus", f"{name}.expected.jsonl")) as f:
            for line in f:
                if line.strip():
                    out.append(json.loads(line)["command"])
    for name in ("corpus.txt", "s3_corpus.txt"):
        p = os.path.join(ROOT, "crates/portcullis/tests/e2e", name)
        if os.path.exists(p):
            for line in open(p):
                m = re.match(r"^(?:run|setup): (aws .*)$", line.rstrip("\n"))
                if m:
                    out.append(m.group(1))
    seen, uniq = set(), []
    for c in out:
        if c not in seen:
            seen.add(c)
            uniq.append(c)
    return uniq


def ops_list():
    src = open(os.path.join(ROOT, "fuzz/fuzz_targets/command.rs")).read()
    block = src.split("const OPS: &[&str] = &[", 1)[1].split("];", 1)[0]
    return re.findall(r'"([^"]+)"', block)


def main():
    cmds = commands()
    ops = ops_list()
    for c in cmds:
        put("words", c)
        put("command", c)
    # Structured command seeds: the rest of a corpus command whose prefix is one of OPS.
    for c in cmds:
        for i, op in enumerate(ops):
            if c.startswith(op + " "):
                put("command", bytes([i]) + c[len(op) + 1:].encode())
    for i in range(len(ops)):
        put("command", bytes([i]))
    # Shorthand.
    cases = json.load(open(os.path.join(ROOT, "crates/shorthand/tests/data/shorthand-cases.json")))
    for group in cases.values():
        for case in group:
            if isinstance(case, dict) and isinstance(case.get("input"), str):
                put("shorthand", case["input"])
    for c in cmds:
        try:
            words = shlex.split(c)
        except ValueError:
            continue
        for w in words:
            if "=" in w and not w.startswith("-") and not w.lstrip().startswith(("{", "[", "file:", "fileb:", "http")):
                put("shorthand", w)
    # Decode: protocol vectors, in the order decode.rs embeds them.
    real = re.findall(r'^\s*\("(\w[\w-]*)", "(\w+)"\),', open(os.path.join(ROOT, "fuzz/fuzz_targets/decode.rs")).read(), re.M)
    files = ["ec2.json", "json.json", "json_1_0.json", "json_1_0-query-compatible.json", "query.json", "rest-json.json", "rest-xml.json"]
    sel = len(real)
    for name in files:
        suites = json.load(open(os.path.join(ROOT, "crates/wire/tests/data/protocols/output", name)))
        for suite in suites:
            for case in suite["cases"]:
                r = case.get("response", {})
                status = int(r.get("status_code", 200))
                head = "".join(f"{k}: {v}\n" for k, v in (r.get("headers") or {}).items())
                body = r.get("body") or ""
                put("decode", struct.pack(">HHB", sel, status, 0) + head.encode() + b"\n\n" + body.encode())
                sel += 1
    idx = {f"{s}.{o}": i for i, (s, o) in enumerate(real)}
    xml_err = b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    ec2_err = b"<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-1' does not exist</Message></Error></Errors><RequestID>r-1</RequestID></Response>"
    json_err = b'{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}'
    s3_err = b"<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>b</BucketName><RequestId>r</RequestId><HostId>h</HostId></Error>"
    real_cases = [
        ("sts.GetCallerIdentity", 200, "x-amzn-requestid: r-1\n", b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/alice</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>'),
        ("sts.GetCallerIdentity", 403, "", xml_err),
        ("sts.AssumeRole", 200, "", b"<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>2026-11-24T08:00:00Z</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROA:s</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn></AssumedRoleUser><PackedPolicySize>6</PackedPolicySize></AssumeRoleResult></AssumeRoleResponse>"),
        ("iam.GetRole", 200, "", b"<GetRoleResponse><GetRoleResult><Role><Path>/</Path><RoleName>r</RoleName><RoleId>AROA</RoleId><Arn>arn:aws:iam::123456789012:role/r</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate><AssumeRolePolicyDocument>%7B%22Version%22%3A%222012-10-17%22%7D</AssumeRolePolicyDocument><Tags><member><Key>k</Key><Value>v</Value></member></Tags><MaxSessionDuration>3600</MaxSessionDuration></Role></GetRoleResult></GetRoleResponse>"),
        ("cloudformation.DescribeStacks", 200, "", b"<DescribeStacksResponse><DescribeStacksResult><Stacks><member><StackName>s</StackName><StackId>id</StackId><CreationTime>2024-01-01T00:00:00.123Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Parameters><member><ParameterKey>a</ParameterKey><ParameterValue>b</ParameterValue></member></Parameters><Outputs><member><OutputKey>o</OutputKey><OutputValue>v</OutputValue></member></Outputs><DisableRollback>false</DisableRollback></member></Stacks><NextToken>n</NextToken></DescribeStacksResult></DescribeStacksResponse>"),
        ("ec2.DescribeInstances", 200, "", b'<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><reservationSet><item><reservationId>r-1</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet><item><instanceId>i-1</instanceId><imageId>ami-1</imageId><instanceState><code>16</code><name>running</name></instanceState><launchTime>2024-01-01T00:00:00.000Z</launchTime><tagSet><item><key>Name</key><value>web</value></item></tagSet><ebsOptimized>false</ebsOptimized><cpuOptions><coreCount>1</coreCount><threadsPerCore>2</threadsPerCore></cpuOptions></item></instancesSet></item></reservationSet><nextToken>t</nextToken></DescribeInstancesResponse>'),
        ("ec2.DescribeInstances", 400, "", ec2_err),
        ("ec2.DescribeSecurityGroups", 200, "", b"<DescribeSecurityGroupsResponse><securityGroupInfo><item><ownerId>1</ownerId><groupId>sg-1</groupId><groupName>g</groupName><ipPermissions><item><ipProtocol>tcp</ipProtocol><fromPort>22</fromPort><toPort>22</toPort><ipRanges><item><cidrIp>10.0.0.0/8</cidrIp></item></ipRanges><groups/></item></ipPermissions></item></securityGroupInfo></DescribeSecurityGroupsResponse>"),
        ("dynamodb.ListTables", 200, "x-amzn-requestid: r\ncontent-type: application/x-amz-json-1.0\n", b'{"TableNames":["a","b"],"LastEvaluatedTableName":"b"}'),
        ("dynamodb.ListTables", 400, "x-amzn-requestid: r\n", json_err),
        ("dynamodb.GetItem", 200, "", b'{"Item":{"id":{"S":"1"},"n":{"N":"1.5"},"b":{"B":"AAE="},"l":{"L":[{"BOOL":true},{"NULL":true},{"M":{"x":{"SS":["a"]}}}]}},"ConsumedCapacity":{"TableName":"t","CapacityUnits":0.5}}'),
        ("kms.Decrypt", 200, "", b'{"KeyId":"arn:aws:kms:us-east-1:1:key/k","Plaintext":"aGVsbG8=","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}'),
        ("logs.FilterLogEvents", 200, "", b'{"events":[{"logStreamName":"s","timestamp":1700000000000,"message":"m","ingestionTime":1700000000001,"eventId":"e"}],"searchedLogStreams":[],"nextToken":"n"}'),
        ("lambda.ListFunctions", 200, "x-amzn-RequestId: r\n", b'{"Functions":[{"FunctionName":"f","FunctionArn":"arn:aws:lambda:us-east-1:1:function:f","Runtime":"python3.12","CodeSize":10,"Timeout":3,"MemorySize":128,"LastModified":"2024-01-01T00:00:00.000+0000","Environment":{"Variables":{"A":"b"}},"Architectures":["x86_64"]}],"NextMarker":"m"}'),
        ("lambda.ListFunctions", 404, "x-amzn-ErrorType: ResourceNotFoundException:http://internal.amazon.com/\n", b'{"Type":"User","message":"Function not found"}'),
        ("lambda.Invoke", 200, "X-Amz-Function-Error: Unhandled\nX-Amz-Log-Result: bG9n\nX-Amz-Executed-Version: $LATEST\n", b'{"errorMessage":"boom"}'),
        ("apigateway.GetRestApis", 200, "", b'{"item":[{"id":"a","name":"n","createdDate":1700000000,"endpointConfiguration":{"types":["REGIONAL"]},"tags":{"k":"v"}}],"position":"p"}'),
        ("s3.ListObjectsV2", 200, "x-amz-request-id: r\n", b'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>docs</Name><Prefix></Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>a.txt</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>5</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>dir/b&amp;c.txt</Key><Size>0</Size></Contents><CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes><EncodingType>url</EncodingType></ListBucketResult>'),
        ("s3.ListObjectsV2", 404, "", s3_err),
        ("s3.GetObject", 200, "Content-Length: 5\nContent-Type: text/plain\nETag: \"abc\"\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\nx-amz-meta-owner: alice\nx-amz-expiration: expiry-date=\"Fri, 23 Dec 2012 00:00:00 GMT\", rule-id=\"r\"\nExpires: Thu, 01 Dec 1994 16:00:00 GMT\n", b"hello"),
        ("s3.HeadObject", 200, "Content-Length: 5\naccept-ranges: bytes\nx-amz-server-side-encryption: AES256\nx-amz-missing-meta: 2\nx-amz-object-lock-retain-until-date: 2030-01-01T00:00:00Z\n", b""),
        ("s3.HeadObject", 404, "", b""),
        ("route53.ListHostedZones", 200, "", b'<?xml version="1.0"?>\n<ListHostedZonesResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><HostedZones><HostedZone><Id>/hostedzone/Z1</Id><Name>example.com.</Name><CallerReference>c</CallerReference><Config><PrivateZone>false</PrivateZone></Config><ResourceRecordSetCount>2</ResourceRecordSetCount></HostedZone></HostedZones><IsTruncated>false</IsTruncated><MaxItems>100</MaxItems></ListHostedZonesResponse>'),
    ]
    for key, status, head, body in real_cases:
        if key in idx:
            put("decode", struct.pack(">HHB", idx[key], status, 0) + head.encode() + b"\n\n" + body)
            put("decode", struct.pack(">HHB", idx[key], status, 1) + head.encode() + b"\n\n" + body)
        else:
            sys.exit(f"{key} is not in decode.rs's REAL list")
    jmespath()


def jmespath():
    data = os.path.join(ROOT, "crates/output/tests/data")
    cases = json.load(open(os.path.join(data, "jmespath-cases.json"), encoding="utf-8"))
    for group in cases["cases"]:
        doc = json.dumps(cases["documents"][group["document"]], ensure_ascii=False)
        for i, expr in enumerate(group["expressions"]):
            put("jmespath", expr)
            # Large documents with a few of their expressions only (the seeds stay small).
            if len(doc) <= 1500 or i < 3:
                put("jmespath", expr + "\0" + doc)
    docs = json.load(open(os.path.join(data, "documents.json"), encoding="utf-8"))
    responses = {d["name"]: d["response"] for d in docs["documents"]}
    for q in docs["queries"]:
        if q["document"] in responses and len(json.dumps(responses[q["document"]])) <= 1500:
            put("jmespath", q["query"] + "\0" + json.dumps(responses[q["document"]], ensure_ascii=False))
    for expr in [
        "[@,@,@,@] | [@,@,@,@] | [@,@,@,@] | [@,@,@,@] | @",
        "[@,@] | [@,@] | [@,@] | [@,@] | @ == @",
        "join('', [@, @]) | join('', [@, @]) | join('', [@, @])",
        "@" + ".[@]" * 200,
        "@" + ".{a: @}" * 200,
        "sort_by([@,@,@,@][], &to_string(@))",
        "[[[[[[[[[[@]]]]]]]]]]",
    ]:
        put("jmespath", expr)


if __name__ == "__main__":
    main()
