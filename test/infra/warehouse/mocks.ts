/** The warehouse tests use the same mocks as `tributary plan`, so the plan shows what they assert. */
export { AwsMocks as WarehouseMocks, MOCK_S3_PREFIX_LIST, MOCK_VPC } from "../../../stacks/mocks";
