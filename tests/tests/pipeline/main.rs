//! The pipeline a team deploys: the CloudFormation templates (cfn-lint and the wiring
//! check), the buildspecs run as CodeBuild runs them against a local AWS, and the signing
//! image built FROM scratch and run.

mod hardening;
mod image;
mod image_codebuild;
mod limits;
mod lint;
mod records;
mod release;
mod run;
mod stacks;
mod wiring;
