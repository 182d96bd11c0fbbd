//! The `offboard-tenant` Lambda function: see `bbws::tenants::access_points::offboard_handler`.

fn main() -> Result<(), lambda_runtime::Error> {
    bbws::runtime::start(bbws::tenants::access_points::offboard_handler)
}
