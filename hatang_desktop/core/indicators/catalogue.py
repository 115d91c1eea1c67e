"""The plan indicators: key, labels, unit and the definition printed with every result.

Keys are the vocabulary of `resources/plans/*.yaml`; the definitions are what the report's
definitions sheet and `hatang indicators` print, so a number never travels without its meaning.
"""

from __future__ import annotations

from dataclasses import dataclass

PERCENT, COUNT, PER_100, MBPS, KM = "%", "count", "per_100", "Mbps", "km"

UNIT_LABELS = {PERCENT: ("%", "%"), COUNT: ("trạm", "sites"), PER_100: ("/100 dân", "/100 inhabitants"),
               MBPS: ("Mbps", "Mbps"), KM: ("km", "km")}


@dataclass(frozen=True)
class Indicator:
    key: str
    unit: str
    label_vi: str
    label_en: str
    definition_vi: str
    definition_en: str
    surveyed: bool = True  # False: entered by the department (not on the map)

    @property
    def per_commune_target(self) -> bool:
        """A rate target applies to each commune too; a count target only to the plan's area."""
        return self.unit != COUNT


INDICATORS: tuple[Indicator, ...] = (
    Indicator("bts_sharing_rate", PERCENT, "Tỷ lệ dùng chung vị trí trạm BTS", "BTS site-sharing rate",
              "Số trạm đang hoạt động có từ {min_operators} doanh nghiệp trở lên / tổng số trạm đang "
              "hoạt động.",
              "Operating sites with {min_operators} or more operators / all operating sites."),
    Indicator("operating_sites", COUNT, "Tổng số trạm BTS đang hoạt động", "Operating BTS sites",
              "Số vị trí trạm có trạng thái đang hoạt động (không tính trạm quy hoạch, đã tháo dỡ).",
              "Sites with status operating (planned and dismantled sites excluded)."),
    Indicator("sites_5g", COUNT, "Tổng số trạm 5G", "5G sites",
              "Số trạm đang hoạt động có ít nhất một doanh nghiệp phát sóng 5G.",
              "Operating sites where at least one operator transmits 5G."),
    Indicator("sites_5g_in_zones", COUNT, "Trạm 5G trong KKT, KCN, CCN", "5G sites in economic zones, "
              "industrial parks and clusters",
              "Số trạm 5G đang hoạt động nằm trong (kể cả trên ranh giới) ranh giới khu: {zone_kinds}.",
              "Operating 5G sites inside (boundary included) a zone of kind: {zone_kinds}."),
    Indicator("zones_with_5g_rate", PERCENT, "Tỷ lệ khu, cụm công nghiệp có trạm 5G",
              "Share of zones with a 5G site",
              "Số khu ({zone_kinds}) có ít nhất một trạm 5G đang hoạt động bên trong / tổng số khu.",
              "Zones ({zone_kinds}) with at least one operating 5G site inside / all such zones."),
    Indicator("village_mobile_broadband_rate", PERCENT, "Tỷ lệ thôn, bản được phủ sóng băng rộng di động",
              "Villages covered by mobile broadband",
              "Thôn có hiện trạng khảo sát \"có sóng\" của xã; nếu chưa khảo sát: tâm thôn nằm trong bán "
              "kính phủ sóng của một trạm đang hoạt động có 4G hoặc 5G (bán kính theo công nghệ và loại "
              "địa bàn, resources/coverage.yaml). Mẫu số: {village_scope}.",
              "Villages the commune surveyed as covered; where not surveyed, the village centre lies "
              "within the coverage radius of an operating 4G or 5G site (radius by technology and area "
              "type, resources/coverage.yaml). Denominator: {village_scope_en}."),
    Indicator("village_ftth_rate", PERCENT, "Tỷ lệ thôn, bản có cáp quang FTTH", "Villages with FTTH",
              "Thôn có hiện trạng khảo sát có FTTH; nếu chưa khảo sát: có tuyến cáp quang truy nhập cách "
              "tâm thôn không quá {ftth_m} m. Mẫu số: {village_scope}.",
              "Villages surveyed as having FTTH; where not surveyed, an access fibre route passes within "
              "{ftth_m} m of the village centre. Denominator: {village_scope_en}."),
    Indicator("commune_centres_5g_rate", PERCENT, "Tỷ lệ trung tâm xã, phường được phủ sóng 5G",
              "Commune and ward centres covered by 5G",
              "Tâm xã, phường (admin_units.centre) nằm trong bán kính phủ sóng 5G của một trạm 5G đang "
              "hoạt động / số xã, phường có tọa độ tâm.",
              "Commune/ward centres within the 5G coverage radius of an operating 5G site / communes "
              "with a known centre."),
    Indicator("population_5g_rate", PERCENT, "Tỷ lệ dân số được phủ sóng 5G", "Population covered by 5G",
              "Dân số các thôn có tâm thôn nằm trong bán kính phủ sóng 5G / dân số các thôn có số liệu "
              "dân số (theo mô hình, không theo khảo sát).",
              "Population of villages whose centre is within a 5G coverage radius / population of "
              "villages with a known population (model only)."),
    Indicator("shared_poles_rate", PERCENT, "Tỷ lệ cột treo cáp dùng chung", "Shared poles",
              "Số cột có cáp của từ {pole_min_operators} doanh nghiệp trở lên / {pole_scope}.",
              "Poles carrying cables of {pole_min_operators} or more operators / {pole_scope_en}."),
    Indicator("fibre_km", KM, "Tổng chiều dài cáp quang", "Fibre route length",
              "Tổng chiều dài trắc địa (WGS84) các tuyến cáp quang, mọi cấp, tính cho doanh nghiệp chủ "
              "tuyến và xã ghi trên tuyến.",
              "Geodesic (WGS84) length of all fibre routes, any level, under the route's operator and "
              "commune."),
    Indicator("fibre_underground_rate", PERCENT, "Tỷ lệ cáp quang đi ngầm", "Fibre underground",
              "Chiều dài tuyến đi cống bể và chôn trực tiếp / tổng chiều dài tuyến cáp quang.",
              "Length in ducts and directly buried / total fibre route length."),
    Indicator("mobile_bb_subs_per_100", PER_100, "Số thuê bao băng rộng di động/100 dân",
              "Mobile-broadband subscriptions per 100 inhabitants",
              "Số liệu Sở nhập theo xã; cấp tỉnh: số liệu tỉnh nếu có, nếu không thì bình quân theo dân "
              "số các xã có số liệu.",
              "Entered by the department per commune; province: the province figure if entered, else "
              "the population-weighted mean of the communes with a figure.", surveyed=False),
    Indicator("fixed_bb_subs_per_100", PER_100, "Số thuê bao băng rộng cố định/100 dân",
              "Fixed-broadband subscriptions per 100 inhabitants",
              "Số liệu Sở nhập theo xã; cấp tỉnh như trên.",
              "Entered by the department per commune; province as above.", surveyed=False),
    Indicator("mobile_ispeed_mbps", MBPS, "Tốc độ băng rộng di động (i-Speed)", "Mobile broadband speed "
              "(i-Speed)", "Tốc độ tải xuống theo i-Speed, Sở nhập; cấp tỉnh như trên.",
              "i-Speed download speed entered by the department; province as above.", surveyed=False),
    Indicator("fixed_ispeed_mbps", MBPS, "Tốc độ băng rộng cố định (i-Speed)", "Fixed broadband speed "
              "(i-Speed)", "Tốc độ tải xuống theo i-Speed, Sở nhập; cấp tỉnh như trên.",
              "i-Speed download speed entered by the department; province as above.", surveyed=False),
)

BY_KEY: dict[str, Indicator] = {i.key: i for i in INDICATORS}
FIGURE_KEYS: tuple[str, ...] = tuple(i.key for i in INDICATORS if not i.surveyed)

ZONE_KIND_LABELS = {"economic_zone": ("khu kinh tế", "economic zones"),
                    "industrial_park": ("khu công nghiệp", "industrial parks"),
                    "industrial_cluster": ("cụm công nghiệp", "industrial clusters")}
TECHNOLOGIES = ("2G", "3G", "4G", "5G")
METHODS = ("aerial", "duct", "buried")
METHOD_LABELS = {"aerial": ("treo", "aerial"), "duct": ("cống bể", "duct"), "buried": ("chôn trực tiếp", "buried")}
