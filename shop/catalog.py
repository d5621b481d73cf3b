"""The fixed 31-product catalogue (ids per docs/demo_data.md) with attributes and size charts."""

from __future__ import annotations

from typing import Any, Optional

CATEGORY_TEXT = {
    "clothing": "服装",
    "electronics": "数码电子",
    "cosmetics": "美妆护肤",
    "food": "食品",
    "home_appliance": "家用电器",
}

COURIERS = ("顺丰", "中通", "圆通", "韵达", "申通", "京东物流", "邮政EMS", "极兔")

CARE_DOWN = "建议干洗或30℃以下手洗，勿拧干，平铺阴干；晾干后轻拍恢复蓬松，勿熨烫"
CARE_COTTON = "30℃以下机洗，深浅色分开洗涤，反面晾晒，避免暴晒，可中温熨烫"


def _chart(
    sizes: list[str],
    heights: list[tuple[int, int]],
    weights: list[tuple[int, int]],
    chest: float,
    shoulder: float,
    length: float,
    chest_step: float = 4,
    shoulder_step: float = 1.2,
    length_step: float = 2,
) -> list[dict[str, Any]]:
    """Tops size chart: one row per size; ranges are [min, max]."""
    rows = []
    for i, size in enumerate(sizes):
        rows.append(
            {
                "size": size,
                "height_cm": list(heights[i]),
                "weight_kg": list(weights[i]),
                "chest_cm": round(chest + chest_step * i, 1),
                "shoulder_cm": round(shoulder + shoulder_step * i, 1),
                "length_cm": round(length + length_step * i, 1),
            }
        )
    return rows


MEN_SIZES = ["S", "M", "L", "XL", "XXL", "XXXL"]
MEN_HEIGHTS = [(160, 165), (165, 170), (170, 175), (175, 180), (180, 185), (185, 190)]
MEN_WEIGHTS = [(50, 57), (57, 65), (65, 72), (72, 80), (80, 90), (90, 100)]
WOMEN_SIZES = ["XS", "S", "M", "L", "XL"]
WOMEN_HEIGHTS = [(150, 155), (155, 160), (160, 165), (165, 170), (170, 175)]
WOMEN_WEIGHTS = [(40, 45), (45, 50), (50, 55), (55, 62), (62, 70)]
UNISEX_SIZES = ["S", "M", "L", "XL", "XXL"]


def _jeans_chart() -> list[dict[str, Any]]:
    rows = []
    for i, waist_size in enumerate(range(26, 35)):
        rows.append(
            {
                "size": str(waist_size),
                "height_cm": [155 + (i // 2) * 3, 163 + (i // 2) * 3],
                "weight_kg": [42 + i * 3, 46 + i * 3],
                "waist_cm": round(66 + 2.5 * i, 1),
                "hip_cm": round(88 + 2.5 * i, 1),
                "length_cm": 98 + (i // 3),
            }
        )
    return rows


def _product(
    pid: str,
    brand: str,
    name: str,
    category: str,
    price: float,
    stock: int,
    description: str,
    options: dict[str, list[str]],
    attributes: dict[str, Any],
    size_chart: Optional[list[dict[str, Any]]] = None,
    restock_in_days: Optional[int] = None,
) -> dict[str, Any]:
    return {
        "id": pid,
        "brand": brand,
        "name": name,
        "category": category,
        "price": price,
        "stock": stock,
        "description": description,
        "options": options,
        "attributes": attributes,
        "size_chart": size_chart,
        "restock_in_days": restock_in_days,
    }


PRODUCTS: list[dict[str, Any]] = [
    _product(
        "P1001", "沐风", "男士轻薄羽绒服", "clothing", 499.0, 320,
        "90%白鸭绒填充，轻薄保暖可收纳，适合秋冬通勤与旅行。",
        {"颜色": ["曜石黑", "藏青", "燕麦白"], "尺码": MEN_SIZES},
        {
            "material": "面料：100%锦纶；填充物：90%白鸭绒",
            "fill_power": "蓬松度650+，充绒量约120g（L码）",
            "coating": "面料经DWR防泼水处理，小雨雪天可用",
            "fit": "修身版型，偏标准码；喜欢宽松或内搭厚毛衣建议大一码",
            "warmth": "适合0℃~10℃穿着",
            "care": CARE_DOWN,
            "origin": "浙江嘉兴",
        },
        _chart(MEN_SIZES, MEN_HEIGHTS, MEN_WEIGHTS, 104, 44, 66),
    ),
    _product(
        "P1002", "沐风", "女士长款羽绒服", "clothing", 899.0, 85,
        "过膝长款连帽设计，95%白鹅绒，零下20℃也能扛。",
        {"颜色": ["奶油白", "经典黑", "雾霾蓝"], "尺码": WOMEN_SIZES},
        {
            "material": "面料：100%聚酯纤维；填充物：95%白鹅绒",
            "fill_power": "蓬松度750+，充绒量约260g（M码）",
            "coating": "三防面料（防泼水、防油污、防钻绒）",
            "fit": "宽松H型，偏大半码，介于两个尺码之间建议选小一码",
            "warmth": "适合-20℃~0℃穿着",
            "care": CARE_DOWN,
            "origin": "江苏常熟",
        },
        _chart(WOMEN_SIZES, WOMEN_HEIGHTS, WOMEN_WEIGHTS, 100, 39, 108, 4, 1, 2),
    ),
    _product(
        "P1003", "青禾", "纯棉圆领T恤", "clothing", 79.0, 1500,
        "新疆长绒棉，260g重磅面料，不易变形，男女同款。",
        {"颜色": ["白色", "黑色", "雾霾蓝", "燕麦色"], "尺码": UNISEX_SIZES},
        {
            "material": "100%新疆长绒棉，克重260g",
            "fit": "落肩宽松版型，男女同款；女生建议选小一码",
            "shrinkage": "经预缩处理，洗后缩率小于3%",
            "care": CARE_COTTON,
            "origin": "广东佛山",
        },
        _chart(UNISEX_SIZES, MEN_HEIGHTS[:5], MEN_WEIGHTS[:5], 106, 48, 68),
    ),
    _product(
        "P1004", "青禾", "男士休闲夹克", "clothing", 329.0, 260,
        "立领工装夹克，棉混纺面料挺括有型，春秋百搭。",
        {"颜色": ["军绿", "卡其", "黑色"], "尺码": MEN_SIZES},
        {
            "material": "面料：65%棉 35%聚酯纤维；里料：100%聚酯纤维",
            "fit": "标准版型，按平时尺码选购即可",
            "season": "春秋季",
            "care": "30℃以下手洗或轻柔机洗，不可漂白，中温熨烫",
            "origin": "福建泉州",
        },
        _chart(MEN_SIZES, MEN_HEIGHTS, MEN_WEIGHTS, 106, 45, 68),
    ),
    _product(
        "P1005", "鹿语", "女士针织开衫", "clothing", 199.0, 410,
        "软糯羊毛混纺针织开衫，V领单排扣，温柔通勤风。",
        {"颜色": ["米白", "燕麦", "雾粉", "黑色"], "尺码": WOMEN_SIZES},
        {
            "material": "30%绵羊毛 50%粘纤 20%锦纶",
            "fit": "微宽松版型，按平时尺码选购",
            "pilling": "轻微起球属正常现象，可用剃毛球器处理",
            "care": "30℃以下冷水手洗，平铺晾干，不可悬挂以免变形",
            "origin": "浙江桐乡",
        },
        _chart(WOMEN_SIZES, WOMEN_HEIGHTS, WOMEN_WEIGHTS, 92, 37, 56, 4, 1, 1.5),
    ),
    _product(
        "P1006", "鹿语", "高腰牛仔裤", "clothing", 259.0, 380,
        "高腰直筒显瘦牛仔裤，微弹面料，久坐不勒。",
        {"颜色": ["浅蓝", "深蓝", "黑灰"], "尺码": [str(s) for s in range(26, 35)]},
        {
            "material": "92%棉 6%聚酯纤维 2%氨纶（微弹）",
            "fit": "高腰直筒，腰围按裤腰尺码选择，臀围较大建议大一码",
            "inseam": "裤长约98cm，适合身高155-172cm",
            "care": "首次洗涤可能轻微掉色，请单独冷水反面洗涤",
            "origin": "广东新塘",
        },
        _jeans_chart(),
    ),
    _product(
        "P1007", "山野", "三合一冲锋衣", "clothing", 699.0, 190,
        "外层硬壳防水透气，内胆抓绒可拆卸，户外通勤两用。",
        {"颜色": ["黑色", "深灰", "橄榄绿", "藏蓝"], "尺码": MEN_SIZES},
        {
            "material": "外层：100%锦纶复合膜；内胆：100%聚酯纤维摇粒绒",
            "coating": "防水指数10000mm，透湿指数8000g/m²/24h，全压胶工艺",
            "fit": "标准偏宽松，可内搭薄羽绒；按平时尺码选购",
            "warmth": "外层+内胆组合适合-5℃~10℃",
            "care": "冷水手洗，不可使用柔顺剂，低温烘干可恢复防泼水性能",
            "origin": "福建厦门",
        },
        _chart(MEN_SIZES, MEN_HEIGHTS, MEN_WEIGHTS, 112, 46, 72),
    ),
    _product(
        "P1008", "山野", "运动连帽卫衣", "clothing", 229.0, 560,
        "400g加绒卫衣，袋鼠兜设计，男女同款。",
        {"颜色": ["灰色", "黑色", "奶白", "克莱因蓝"], "尺码": MEN_SIZES},
        {
            "material": "80%棉 20%聚酯纤维，内里加绒，克重400g",
            "fit": "落肩宽松版型，男女同款；想要合身效果建议小一码",
            "care": "反面机洗，不可漂白，低温熨烫",
            "origin": "江苏苏州",
        },
        _chart(MEN_SIZES, MEN_HEIGHTS, MEN_WEIGHTS, 110, 50, 68),
    ),
    _product(
        "P2001", "声浪", "蓝牙耳机Pro", "electronics", 399.0, 740,
        "主动降噪真无线耳机，蓝牙5.3，单次续航8小时。",
        {"颜色": ["月光白", "曜石黑"]},
        {
            "bluetooth": "蓝牙5.3，支持AAC/SBC编码",
            "noise_cancelling": "主动降噪最高42dB，支持通透模式",
            "battery": "耳机单次8小时，搭配充电盒总续航32小时；充电10分钟听歌2小时",
            "waterproof": "IPX4防汗防水",
            "compatibility": "兼容iOS、安卓、鸿蒙及Windows设备；支持双设备连接",
            "charging": "USB-C有线充电 + Qi无线充电",
            "warranty": "全国联保1年",
        },
    ),
    _product(
        "P2002", "声浪", "降噪头戴耳机", "electronics", 899.0, 210,
        "头戴式混合降噪耳机，40mm动圈单元，续航60小时。",
        {"颜色": ["星空灰", "云母白"]},
        {
            "bluetooth": "蓝牙5.3，支持LDAC高清编码",
            "noise_cancelling": "混合主动降噪，最高45dB",
            "battery": "关闭降噪60小时/开启降噪40小时",
            "weight": "约250g，蛋白皮耳罩可折叠",
            "compatibility": "兼容iOS、安卓、Windows、macOS；支持3.5mm有线连接",
            "warranty": "全国联保1年",
        },
    ),
    _product(
        "P2003", "极光", "20000毫安充电宝", "electronics", 149.0, 980,
        "20000mAh大容量，22.5W快充，可带上飞机。",
        {"颜色": ["黑色", "白色"]},
        {
            "capacity": "20000mAh / 74Wh（3.7V），符合民航携带规定（≤100Wh）",
            "power": "最大输出22.5W，兼容PD 20W、QC3.0、华为SCP",
            "ports": "USB-C输入/输出 ×1，USB-A输出 ×2",
            "charging_time": "使用18W及以上充电器约5.5小时充满",
            "weight": "约390g",
            "compatibility": "兼容苹果iPhone全系列、安卓手机、平板及蓝牙耳机",
            "warranty": "1年质保，3C认证",
        },
    ),
    _product(
        "P2004", "极光", "65W氮化镓充电器", "electronics", 169.0, 640,
        "65W氮化镓三口快充，一个充电器搞定手机平板笔记本。",
        {"颜色": ["白色", "黑色"]},
        {
            "power": "单口最大65W；多口同时使用时智能分配（45W+18W等）",
            "ports": "USB-C ×2，USB-A ×1",
            "compatibility": "支持PD3.0/PPS/QC4+，兼容MacBook Air、iPhone、三星、"
            "小米、华为等主流设备",
            "input": "100-240V~ 50/60Hz，可出国使用（需转换插头）",
            "size": "约 52×52×30mm，折叠插脚",
            "warranty": "18个月质保，3C认证",
        },
    ),
    _product(
        "P2005", "键客", "K87机械键盘", "electronics", 349.0, 300,
        "87键热插拔机械键盘，三模连接，RGB背光。",
        {"颜色": ["白色", "黑色"], "轴体": ["红轴", "茶轴", "青轴"]},
        {
            "switches": "热插拔轴座，可选红轴（线性）/茶轴（段落）/青轴（有声段落）",
            "connection": "三模连接：有线USB-C、2.4G无线、蓝牙5.0",
            "compatibility": "支持Windows、macOS、iPadOS、安卓，系统一键切换",
            "battery": "4000mAh，关闭背光续航约200小时",
            "keycaps": "PBT双色注塑键帽，不打油",
            "warranty": "1年质保",
        },
    ),
    _product(
        "P2006", "键客", "无线静音鼠标", "electronics", 89.0, 1200,
        "静音微动，2.4G+蓝牙双模，办公图书馆适用。",
        {"颜色": ["石墨黑", "珍珠白", "薄荷绿"]},
        {
            "connection": "2.4G无线 + 蓝牙双模",
            "dpi": "800/1200/1600/2400 四档可调",
            "noise": "静音微动，点击声降低约90%",
            "battery": "1节AA电池，续航约12个月",
            "compatibility": "兼容Windows、macOS、Linux、iPadOS",
            "warranty": "1年质保",
        },
    ),
    _product(
        "P2007", "极光", "智能手环5", "electronics", 229.0, 520,
        "1.6英寸AMOLED彩屏，血氧心率监测，续航14天。",
        {"颜色": ["曜石黑", "樱花粉", "湖光蓝"]},
        {
            "display": "1.62英寸AMOLED，支持息屏显示",
            "sensors": "心率、血氧、睡眠、压力监测，支持120+运动模式",
            "battery": "典型使用14天，重度使用7天；磁吸充电约1.5小时充满",
            "waterproof": "5ATM防水，可佩戴游泳",
            "compatibility": "需配合手机App使用，支持安卓8.0及以上、iOS 13及以上",
            "warranty": "1年质保",
        },
    ),
    _product(
        "P2008", "小域", "27寸4K显示器", "electronics", 1699.0, 0,
        "27英寸IPS 4K显示器，98% DCI-P3色域，Type-C 65W反向充电。",
        {"颜色": ["银黑"]},
        {
            "panel": "27英寸IPS，3840×2160，60Hz，10bit色深",
            "color": "98% DCI-P3，出厂校色 ΔE<2",
            "ports": "HDMI 2.0 ×2，DP 1.4 ×1，USB-C（65W供电）×1",
            "stand": "支持升降、俯仰、旋转、竖屏；兼容VESA 100×100壁挂",
            "compatibility": "兼容Windows、macOS；MacBook一线连接即可充电投屏",
            "power": "整机功耗约35W",
            "warranty": "整机3年质保，无亮点保障",
        },
        restock_in_days=6,
    ),
    _product(
        "P3001", "轻氧", "玻尿酸补水面膜", "cosmetics", 89.0, 2300,
        "三重玻尿酸补水面膜，一盒10片。",
        {"规格": ["10片/盒", "30片/3盒装"]},
        {
            "ingredients": "水、甘油、透明质酸钠、水解透明质酸钠、乙酰化透明质酸钠、"
            "泛醇、尿囊素",
            "skin_type": "适合所有肤质，干皮及换季缺水肌肤尤佳",
            "usage": "洁面后敷15-20分钟，取下后轻拍至吸收，无需清洗，每周3-4次",
            "shelf_life": "未开封3年，开封后尽快使用",
            "volume": "25ml/片",
            "caution": "敏感肌首次使用请先在耳后试用",
        },
    ),
    _product(
        "P3002", "轻氧", "烟酰胺精华液", "cosmetics", 159.0, 860,
        "5%烟酰胺提亮精华，改善暗沉，30ml。",
        {"规格": ["30ml", "50ml"]},
        {
            "ingredients": "水、烟酰胺（5%）、丁二醇、甘油、泛醇、乙酰基六肽-8、"
            "透明质酸钠",
            "skin_type": "适合暗沉、肤色不均肌肤；敏感肌建议建立耐受后使用",
            "usage": "早晚洁面爽肤后取2-3滴，轻拍至吸收；白天请配合防晒",
            "shelf_life": "未开封3年，开封后12个月内用完",
            "caution": "初次使用可能出现轻微刺痛，持续不适请停用",
        },
    ),
    _product(
        "P3003", "木槿", "氨基酸洗面奶", "cosmetics", 69.0, 1500,
        "温和氨基酸洁面，绵密泡沫，洗后不紧绷。",
        {"规格": ["120g", "120g×2支装"]},
        {
            "ingredients": "水、月桂酰谷氨酸钠、椰油酰甘氨酸钾、甘油、积雪草提取物",
            "skin_type": "适合所有肤质，敏感肌、孕期可用",
            "usage": "取黄豆大小加水揉出泡沫，轻柔按摩面部后清水冲净，早晚各一次",
            "shelf_life": "3年",
            "ph": "弱酸性，pH约5.5-6.5",
        },
    ),
    _product(
        "P3004", "木槿", "清爽防晒霜SPF50", "cosmetics", 119.0, 1100,
        "SPF50+ PA++++，轻薄清爽不油腻，军训户外适用。",
        {"规格": ["50ml", "50ml×2支装"]},
        {
            "ingredients": "水、甲氧基肉桂酸乙基己酯、双-乙基己氧苯酚甲氧苯基三嗪、"
            "氧化锌、烟酰胺、生育酚乙酸酯",
            "protection": "SPF50+ PA++++，防水防汗（80分钟）",
            "skin_type": "适合油性及混合性肌肤",
            "usage": "出门前15分钟取一元硬币大小均匀涂抹，每2-3小时补涂一次",
            "removal": "需使用卸妆产品或洁面乳二次清洁",
            "shelf_life": "3年",
        },
    ),
    _product(
        "P3005", "木槿", "丝绒哑光口红", "cosmetics", 129.0, 950,
        "丝绒哑光质地，显色持久不拔干。",
        {"色号": ["#316 枫叶红", "#520 豆沙色", "#888 复古正红", "#101 奶茶色"]},
        {
            "ingredients": "聚二甲基硅氧烷、合成蜡、云母、蜂蜡、维生素E、荷荷巴籽油",
            "texture": "丝绒哑光，轻薄不拔干",
            "lasting": "持妆约6小时，喝水轻微沾杯",
            "weight": "3.5g",
            "shelf_life": "3年，开封后18个月",
        },
    ),
    _product(
        "P4001", "禾田", "五常大米5kg", "food", 69.9, 800,
        "黑龙江五常稻花香2号，当季新米，真空包装。",
        {"规格": ["5kg", "10kg"]},
        {
            "ingredients": "粳米（五常稻花香2号）",
            "origin": "黑龙江省五常市",
            "shelf_life": "12个月",
            "storage": "置于阴凉干燥处，开袋后密封保存，避免阳光直射",
            "grade": "一级，GB/T 19266 地理标志产品",
            "net_weight": "5kg",
        },
    ),
    _product(
        "P4002", "禾田", "每日坚果礼盒", "food", 128.0, 650,
        "7种坚果果干科学配比，30日装独立小包。",
        {"规格": ["750g/30袋", "375g/15袋"]},
        {
            "ingredients": "腰果、巴旦木、榛子仁、核桃仁、蓝莓干、蔓越莓干、南瓜子仁",
            "allergens": "含坚果，生产线同时加工花生、大豆制品",
            "shelf_life": "180天",
            "storage": "常温避光保存，开袋后请尽快食用",
            "net_weight": "750g（25g×30袋）",
        },
    ),
    _product(
        "P4003", "山里红", "云南小粒咖啡豆", "food", 88.0, 420,
        "云南保山小粒咖啡，中深烘焙，坚果可可风味。",
        {"规格": ["454g 咖啡豆", "454g 研磨粉（手冲粗细）"]},
        {
            "ingredients": "100%阿拉比卡咖啡豆（云南保山）",
            "roast": "中深烘焙，风味：坚果、黑巧克力、焦糖",
            "shelf_life": "12个月，建议开封后一个月内饮用完毕",
            "storage": "密封避光保存，勿冷藏",
            "net_weight": "454g",
        },
    ),
    _product(
        "P4004", "禾田", "红枣枸杞茶", "food", 39.9, 1300,
        "新疆若羌红枣+宁夏枸杞，独立三角茶包，冲泡即饮。",
        {"规格": ["30包/盒", "60包/2盒装"]},
        {
            "ingredients": "红枣、枸杞、桂圆、菊花、冰糖",
            "origin": "新疆若羌、宁夏中宁",
            "usage": "每包用200ml沸水冲泡5-8分钟，可续泡2-3次",
            "shelf_life": "18个月",
            "caution": "孕妇及糖尿病人群请遵医嘱饮用",
        },
    ),
    _product(
        "P5001", "悦家", "5L空气炸锅", "home_appliance", 299.0, 460,
        "5L大容量可视空气炸锅，无需翻面，少油健康。",
        {"颜色": ["奶白", "墨绿"]},
        {
            "capacity": "5L，适合2-5人家庭",
            "power": "1450W，220V~50Hz",
            "coating": "内胆为食品级不粘涂层（不含PFOA），可拆洗",
            "temperature": "80-200℃可调，定时0-60分钟",
            "care": "内胆可放洗碗机；请勿使用钢丝球清洁以免刮伤涂层",
            "warranty": "整机1年，电机3年",
        },
    ),
    _product(
        "P5002", "悦家", "4L智能电饭煲", "home_appliance", 399.0, 330,
        "IH电磁加热，4L容量，24小时预约。",
        {"颜色": ["白色", "香槟金"]},
        {
            "capacity": "4L，适合3-6人",
            "power": "1100W，220V~50Hz",
            "heating": "IH电磁立体加热",
            "coating": "2mm厚釜内胆，陶晶不粘涂层",
            "functions": "精煮、快煮、煲粥、煲汤、蒸煮、蛋糕等12种功能，24小时预约",
            "warranty": "整机1年，IH线圈3年",
        },
    ),
    _product(
        "P5003", "悦家", "破壁料理机", "home_appliance", 599.0, 210,
        "1.75L大容量破壁机，加热搅打一体，豆浆米糊一键做。",
        {"颜色": ["灰白"]},
        {
            "capacity": "1.75L（冷饮）/ 1.2L（热饮）",
            "power": "电机功率1200W，加热功率800W",
            "speed": "最高转速35000转/分钟",
            "material": "高硼硅玻璃杯体，304不锈钢8叶刀头",
            "functions": "豆浆、米糊、果汁、辅食、绵绸冰沙等10种程序，8小时预约",
            "warranty": "整机1年，电机5年",
        },
    ),
    _product(
        "P5004", "清风", "S8扫地机器人", "home_appliance", 2499.0, 45,
        "激光导航扫拖一体，自动集尘自清洁基站。",
        {"颜色": ["白色"]},
        {
            "navigation": "LDS激光导航 + 3D结构光避障",
            "suction": "5000Pa大吸力",
            "battery": "5200mAh，续航约180分钟（标准模式）",
            "station": "自动集尘、热风烘干拖布、自动上下水（需另购上下水套件）",
            "compatibility": "支持App远程控制，接入米家/华为鸿蒙智联，支持语音助手",
            "noise": "静音模式约55dB",
            "warranty": "整机1年，电池1年",
        },
    ),
    _product(
        "P5005", "清风", "无线吸尘器", "home_appliance", 1299.0, 150,
        "手持无线吸尘器，180AW吸力，可拆卸电池。",
        {"颜色": ["灰紫"]},
        {
            "suction": "180AW",
            "battery": "可拆卸锂电池，续航约60分钟（最低档）",
            "filter": "五重过滤，可水洗HEPA滤网",
            "attachments": "地刷、除螨刷、缝隙吸嘴、二合一刷头",
            "power": "450W，充电约4小时",
            "warranty": "整机2年",
        },
    ),
    _product(
        "P5006", "暖阳", "取暖电暖器", "home_appliance", 459.0, 0,
        "13片油汀电暖器，2200W速热，倾倒断电保护。",
        {"颜色": ["白色"]},
        {
            "power": "三档功率 800W/1400W/2200W，220V~50Hz",
            "area": "适用面积15-25㎡",
            "safety": "倾倒断电、过热保护，防烫外壳",
            "functions": "恒温调节、24小时定时，配置晾衣架和加湿盒",
            "warranty": "整机3年",
        },
        restock_in_days=4,
    ),
]
