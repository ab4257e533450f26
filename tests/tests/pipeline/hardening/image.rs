//! The signing image: ECR's lifecycle policy never expires the pinned image, every build
//! gets a tag of its own, and the pin step moves the release stack to a new image in one
//! checked step (run against moto).

use super::*;

struct Image {
    tags: Vec<String>,
    /// Days since its push.
    age_days: u64,
}

/// ECR's lifecycle evaluation as its user guide states it: rules in priority order; an image
/// is expired by at most one rule; an image that a higher-priority rule selects (its tags
/// match) cannot be expired by a lower one, yet still counts for it; imageCountMoreThan keeps
/// the youngest countNumber of the images a rule selects; sinceImagePushed expires those older
/// than countNumber days; a tagPrefixList matches when every prefix matches one of the tags.
fn ecr_lifecycle(policy: &Value, images: &[Image]) -> Vec<bool> {
    let mut rules: Vec<&Value> = policy["rules"].as_array().unwrap().iter().collect();
    rules.sort_by_key(|r| r["rulePriority"].as_u64().unwrap());
    let selects = |rule: &Value, image: &Image| -> bool {
        let sel = &rule["selection"];
        match sel["tagStatus"].as_str().unwrap() {
            "untagged" => image.tags.is_empty(),
            "any" => true,
            "tagged" => {
                !image.tags.is_empty()
                    && sel["tagPrefixList"].as_array().unwrap().iter().all(|p| {
                        let p = p.as_str().unwrap();
                        image.tags.iter().any(|t| t.starts_with(p))
                    })
            }
            other => panic!("tagStatus {other}"),
        }
    };
    let mut expired = vec![false; images.len()];
    for (i, rule) in rules.iter().enumerate() {
        let higher = &rules[..i];
        let mut selected: Vec<usize> = (0..images.len()).filter(|&n| selects(rule, &images[n])).collect();
        selected.sort_by_key(|&n| images[n].age_days);
        let count = rule["selection"]["countNumber"].as_u64().unwrap();
        let doomed: Vec<usize> = match rule["selection"]["countType"].as_str().unwrap() {
            "imageCountMoreThan" => selected.iter().copied().skip(count as usize).collect(),
            "sinceImagePushed" => selected.iter().copied().filter(|&n| images[n].age_days > count).collect(),
            other => panic!("countType {other}"),
        };
        for n in doomed {
            if !higher.iter().any(|h| selects(h, &images[n])) {
                expired[n] = true;
            }
        }
    }
    expired
}

fn lifecycle_policy(t: &Template, params: &Params) -> Value {
    let repo = &t.ids_of("AWS::ECR::Repository")[0];
    let text = t.property(repo, &["LifecyclePolicy", "LifecyclePolicyText"]).unwrap();
    let text = t.resolve(params, text).expect("the lifecycle policy resolves");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the lifecycle policy is not JSON: {e}\n{text}"))
}

#[test]
fn the_lifecycle_evaluation_follows_ecr_rules() {
    let policy = json!({"rules": [
        {"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPrefixList": ["keep-"], "countType": "imageCountMoreThan", "countNumber": 9999}, "action": {"type": "expire"}},
        {"rulePriority": 2, "selection": {"tagStatus": "tagged", "tagPrefixList": ["b-"], "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}},
        {"rulePriority": 3, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countNumber": 1}, "action": {"type": "expire"}}
    ]});
    let img =
        |tags: &[&str], age| Image { tags: tags.iter().map(|t| t.to_string()).collect(), age_days: age };
    let images = [img(&["b-1"], 1), img(&["b-2", "keep-x"], 5), img(&["b-3"], 9), img(&[], 3), img(&[], 0)];
    assert_eq!(ecr_lifecycle(&policy, &images), [false, false, true, true, false]);
}

#[test]
fn the_lifecycle_policy_never_expires_the_pinned_image() {
    let t = load("minimal-signing-build-stack.yml");
    let params = base_params();
    let policy = lifecycle_policy(&t, &params);
    // ECR's own validation (moto implements it): a policy ECR refuses expires nothing at all.
    let aws = LocalAws::moto();
    aws.seed(&["lifecycle-policy", "relsign-signer"], policy.to_string().as_bytes());

    // Five years of weekly rebuilds; the pipeline was last pinned four years ago (on build 52),
    // the pin before that on build 10. A pinned image carries the tag pin-signing-image gives.
    let pin_tag = {
        let script = std::fs::read_to_string(repo_root().join("scripts/pin-signing-image")).unwrap();
        assert!(
            script.contains("tag=\"pinned-"),
            "scripts/pin-signing-image must tag the image it pins pinned-*"
        );
        "pinned-20221201T000000Z"
    };
    let weeks = 5 * 52;
    let images: Vec<Image> = (0..weeks)
        .map(|n| {
            let mut tags = vec![format!("build-2021{n:04}-0123456789ab-{n}")];
            if n == 52 || n == 10 {
                tags.push(format!("{pin_tag}-{n}"));
            }
            Image { tags, age_days: 7 * (weeks - n) as u64 }
        })
        .collect();
    let expired = ecr_lifecycle(&policy, &images);
    for pinned in [52, 10] {
        assert!(
            !expired[pinned],
            "the image pinned {} days ago expires under this lifecycle policy:\n{policy:#}",
            images[pinned].age_days
        );
    }
    let kept = expired.iter().filter(|e| !**e).count();
    let by_count: usize = t.parameter(&params, "BuildImagesKept").map(|v| v.parse().unwrap()).unwrap_or(0);
    assert!(by_count >= 2, "keep at least two builds (the one in use and one to roll back to)");
    assert_eq!(kept, by_count + 2, "kept: the newest {by_count} builds and the two pinned images");
    assert!(!expired[weeks - 1], "the newest build must be kept, to be pinned");
}

#[test]
fn a_second_image_build_of_one_commit_on_one_day_gets_a_new_tag() {
    let spec = Buildspec::load(&repo_root().join("buildspecs/signing-image-build.yml")).unwrap();
    let (_, pre) = spec.phases_in_order().into_iter().find(|(name, _)| *name == "pre_build").unwrap();
    let tag_line = pre.commands.iter().find(|c| c.starts_with("TAG=")).expect("a TAG= command");
    let tag_of = |build_number: &str| {
        let out = Command::new("sh")
            .args(["-c", &format!("{tag_line}\nprintf %s \"$TAG\"")])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("BUILD_DATE", "20261201")
            .env("GIT_SHA", "0123456789ab")
            .env("CODEBUILD_BUILD_NUMBER", build_number)
            .output()
            .unwrap();
        assert!(out.status.success(), "{tag_line}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let (first, second) = (tag_of("41"), tag_of("42"));
    assert_ne!(first, second, "two builds of one commit on one day get the same tag {first}: the immutable repository refuses the second push");
    for tag in [&first, &second] {
        assert!(tag.starts_with("build-"), "{tag}: the lifecycle rule selects build-*");
        assert!(
            tag.len() <= 128 && tag.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{tag}"
        );
    }
}

#[test]
fn the_image_build_role_may_read_its_connection() {
    let t = load("minimal-signing-build-stack.yml");
    let project = &t.ids_of("AWS::CodeBuild::Project")[0];
    let role = t.property(project, &["ServiceRole"]).unwrap()["Fn::GetAtt"][0].as_str().unwrap().to_string();
    let actions = role_actions(&t, &role);
    for needed in ["codeconnections:GetConnection", "codestar-connections:GetConnection"] {
        assert!(
            actions.iter().any(|(a, r)| a == needed && r.contains("CodeStarConnectionArn")),
            "{role} lacks {needed} on the connection: CodeBuild cannot read a CODECONNECTIONS source without it ({actions:?})"
        );
    }
}

/// The pin step, run against moto: a stand-in release stack (moto has no CodePipeline or
/// CodeBuild resources) with the release stack's image parameters and SigningImage output.
#[test]
fn pinning_an_image_moves_the_release_stack_to_it_and_keeps_it_from_expiring() {
    let release = load("release-pipeline-stack.yml");
    let output = &release.root()["Outputs"]["SigningImage"];
    assert!(!output.is_null(), "the release stack must output SigningImage, what Sign and Copy run");
    for project in ["SigningCodeBuildProject", "CopyCodeBuildProject", "VerifyCodeBuildProject"] {
        assert_eq!(
            release.property(project, &["Environment", "Image"]),
            Some(&output["Value"]),
            "{project} must run the SigningImage output's image"
        );
    }
    // The stack takes only an image pinned by digest: a tag could be moved under the pipeline.
    let repo = "123456789012.dkr.ecr.us-east-1.amazonaws.com/relsign-signer";
    assert!(allowed(
        &release,
        "SigningCodeBuildProjectCustomImageUri",
        &format!("{repo}@sha256:{}", "a".repeat(64))
    ));
    assert!(allowed(&release, "SigningCodeBuildProjectCustomImageUri", ""));
    for unpinned in
        [format!("{repo}:build-20261201-0123456789ab-1"), format!("{repo}:latest"), repo.to_string()]
    {
        assert!(
            !allowed(&release, "SigningCodeBuildProjectCustomImageUri", &unpinned),
            "the image parameter accepts {unpinned}"
        );
    }
    let standin = r#"
Parameters:
  SigningCodeBuildProjectCustomImageUri: {Type: String, Default: ''}
  SigningCodeBuildProjectCustomImageRepositoryArn: {Type: String, Default: ''}
  ReleaseArtifactsBucketName: {Type: String}
Conditions:
  UseCustomSigningImage: !Not [!Equals [!Ref SigningCodeBuildProjectCustomImageUri, '']]
Resources:
  Image:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub '/standin/${AWS::StackName}'
      Type: String
      Value: !If [UseCustomSigningImage, !Ref SigningCodeBuildProjectCustomImageUri, standard]
Outputs:
  SigningImage:
    Value: !If [UseCustomSigningImage, !Ref SigningCodeBuildProjectCustomImageUri, aws/codebuild/amazonlinux-x86_64-standard:5.0]
"#;
    let aws = LocalAws::moto();
    let digests: Vec<String> = (1..=3)
        .map(|n| {
            let out = aws.seed(
                &["put-image", "relsign-signer", &format!("build-20261201-0123456789ab-{n}")],
                format!("layer {n}").as_bytes(),
            );
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        })
        .collect();
    aws.seed(
        &["stack", "relsign-release", r#"{"ReleaseArtifactsBucketName": "relsign-releases"}"#],
        standin.as_bytes(),
    );
    let uri = |d: &str| format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/relsign-signer@{d}");
    let path = format!("{}:{}", venv().join("bin").display(), std::env::var("PATH").unwrap());
    let pin = |args: &[&str]| {
        let out = Command::new(repo_root().join("scripts/pin-signing-image"))
            .args(["--release-stack", "relsign-release"])
            .args(args)
            .env_clear()
            .env("PATH", &path)
            .envs(aws.env())
            .output()
            .unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "pin-signing-image {args:?}:\n{text}");
        text
    };
    let tags =
        |d: &str| String::from_utf8(aws.seed(&["image-tags", "relsign-signer", d], b"").stdout).unwrap();
    let stack_image = || {
        String::from_utf8(aws.seed(&["stack-output", "relsign-release", "SigningImage"], b"").stdout)
            .unwrap()
            .trim()
            .to_string()
    };

    // As after an image build: the SSM parameter names the new image.
    let ssm = Command::new(venv().join("bin/aws"))
        .args([
            "ssm",
            "put-parameter",
            "--name",
            "/relsign/signing-image",
            "--type",
            "String",
            "--value",
            uri(&digests[0]).as_str(),
        ])
        .env_clear()
        .env("PATH", &path)
        .envs(aws.env())
        .output()
        .unwrap();
    assert!(ssm.status.success(), "{}", String::from_utf8_lossy(&ssm.stderr));
    let said = pin(&[]);
    assert!(said.contains(&format!("runs {}", uri(&digests[0]))), "{said}");
    assert_eq!(stack_image(), uri(&digests[0]));
    assert!(tags(&digests[0]).contains("pinned-"), "{}", tags(&digests[0]));

    // Two more pins (one by --image): the one in use and the one before stay pinned, the
    // first loses its pin (and expires later with the other builds).
    pin(&["--image", &uri(&digests[1])]);
    pin(&["--image", &uri(&digests[2])]);
    assert_eq!(stack_image(), uri(&digests[2]));
    assert!(tags(&digests[2]).contains("pinned-") && tags(&digests[1]).contains("pinned-"));
    assert!(!tags(&digests[0]).contains("pinned-"), "{}", tags(&digests[0]));
    assert!(tags(&digests[0]).contains("build-"), "unpinning removes only the pinned- tag");

    // An image that is not in the repository is refused, and the stack stays as it was.
    let missing = Command::new(repo_root().join("scripts/pin-signing-image"))
        .args([
            "--release-stack",
            "relsign-release",
            "--image",
            uri(&format!("sha256:{}", "0".repeat(64))).as_str(),
        ])
        .env_clear()
        .env("PATH", &path)
        .envs(aws.env())
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert_eq!(stack_image(), uri(&digests[2]));
}
