"""The B1_* variables every settings test starts from: the four without a default."""

#: The settings without a default, with values that pass validation.
REQUIRED = {
    "B1_SL_URL": "https://sap:50000/b1s/v2",
    "B1_COMPANY_DB": "SBO",
    "B1_USERNAME": "manager",
    "B1_PASSWORD": "s3cret-pw",
}
