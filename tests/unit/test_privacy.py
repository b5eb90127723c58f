from service.privacy import mask_address, mask_email, mask_name, mask_phone, scrub


def test_phone_is_masked_like_the_design_says() -> None:
    assert mask_phone("13800138000") == "138****8000"


def test_address_keeps_only_the_district() -> None:
    assert mask_address("浙江省杭州市西湖区文三路100号3幢201室") == "浙江省杭州市西湖区****"
    assert mask_address("上海市浦东新区世纪大道200号8楼") == "上海市浦东新区****"
    assert "文三路" not in mask_address("杭州西湖区文三路")


def test_names_and_emails() -> None:
    assert mask_name("张伟") == "张*"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_email("zhangwei@example.com") == "zh****@example.com"


def test_scrub_masks_personal_data_inside_free_text() -> None:
    text = scrub("电话13800138000 身份证330106199001011234 地址浙江省杭州市西湖区文三路100号 邮箱zhangwei@example.com")
    for secret in ("13800138000", "330106199001011234", "文三路100号", "zhangwei@"):
        assert secret not in text
    assert "138****8000" in text
