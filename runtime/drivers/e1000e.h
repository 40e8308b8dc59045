/* e1000e.h: Intel 82574L / I219 (e1000e family) registers and descriptors. */
#ifndef UNICYCLE_DRIVERS_E1000E_H
#define UNICYCLE_DRIVERS_E1000E_H

#include <stdint.h>

/*
 * Sources: Intel 82574 GbE Controller Family Datasheet (rev 3.4, June
 * 2014), chapter 10 (register descriptions) and chapter 7 (descriptors);
 * the I219 is the MAC in the 100-series PCH (Intel 100 Series Chipset
 * Family PCH Datasheet, GbE chapter), programmed through the same register
 * file with the differences noted below. Offsets are from BAR0 (memory).
 */

/* ---- general ---- */
#define E1000_CTRL        0x00000  /* 32 r/w  device control */
#define   E1000_CTRL_FD             (1u << 0)   /* full duplex */
#define   E1000_CTRL_GIO_MASTER_DISABLE (1u << 2)
#define   E1000_CTRL_ASDE           (1u << 5)   /* auto speed detection */
#define   E1000_CTRL_SLU            (1u << 6)   /* set link up */
#define   E1000_CTRL_FRCSPD         (1u << 11)
#define   E1000_CTRL_FRCDPLX        (1u << 12)
#define   E1000_CTRL_RST            (1u << 26)  /* device reset, self-clearing */
#define   E1000_CTRL_RFCE           (1u << 27)  /* receive flow control */
#define   E1000_CTRL_TFCE           (1u << 28)  /* transmit flow control */
#define   E1000_CTRL_VME            (1u << 30)
#define   E1000_CTRL_PHY_RST        (1u << 31)
#define E1000_STATUS      0x00008  /* 32 r    device status */
#define   E1000_STATUS_FD           (1u << 0)
#define   E1000_STATUS_LU           (1u << 1)   /* link up */
#define   E1000_STATUS_SPEED_SHIFT  6           /* 2 bits: 10/100/1000 */
#define   E1000_STATUS_SPEED_MASK   (3u << 6)
#define   E1000_STATUS_LAN_INIT_DONE (1u << 9)  /* I219: after reset */
#define   E1000_STATUS_GIO_MASTER_ENABLE (1u << 19)
#define E1000_EECD        0x00010  /* 32 r/w  EEPROM/flash control */
#define   E1000_EECD_AUTO_RD        (1u << 9)   /* 82574: NVM auto-read done */
#define E1000_CTRL_EXT    0x00018  /* 32 r/w  extended device control */
#define   E1000_CTRL_EXT_DRV_LOAD   (1u << 28)  /* driver owns the device (vs. firmware) */
#define E1000_FCAL        0x00028  /* 32 r/w  flow control address low */
#define E1000_FCAH        0x0002c  /* 32 r/w  flow control address high */
#define E1000_FCT         0x00030  /* 32 r/w  flow control type */
#define E1000_ICR         0x000c0  /* 32 rc   interrupt cause read (clears) */
#define   E1000_ICR_TXDW            (1u << 0)   /* transmit descriptor written back */
#define   E1000_ICR_LSC             (1u << 2)   /* link status change */
#define   E1000_ICR_RXDMT0          (1u << 4)   /* receive descriptors below threshold */
#define   E1000_ICR_RXO             (1u << 6)   /* receive overrun */
#define   E1000_ICR_RXT0            (1u << 7)   /* receive timer (frame received) */
#define E1000_IMS         0x000d0  /* 32 r/w  interrupt mask set */
#define E1000_IMC         0x000d8  /* 32 w    interrupt mask clear */
#define   E1000_IMC_ALL             0xffffffffu
#define E1000_FCTTV       0x00170  /* 32 r/w  flow control transmit timer */
#define E1000_EXTCNF_CTRL 0x00f00  /* 32 r/w  extended config control (I219) */
#define   E1000_EXTCNF_CTRL_SWFLAG  (1u << 5)   /* software owns PHY/NVM (vs. ME) */
#define E1000_FWSM        0x05b54  /* 32 r    firmware semaphore (I219) */
#define   E1000_FWSM_RSPCIPHY       (1u << 6)   /* 0: ME blocks PHY reset */
#define   E1000_FWSM_ULP_CFG_DONE   (1u << 10)  /* ME has the PHY in Ultra Low Power */
#define   E1000_FWSM_FW_VALID       (1u << 15)  /* ME firmware present and running */
#define E1000_H2ME        0x05b50  /* 32 r/w  host to ME (I219) */
#define   E1000_H2ME_ULP            (1u << 11)  /* host allows ULP */
#define   E1000_H2ME_ENFORCE_SETTINGS (1u << 12) /* ME applies the H2ME bits */

/* ---- receive registers (chapter 10) ---- */
#define E1000_RCTL        0x00100  /* 32 r/w  receive control */
#define   E1000_RCTL_EN             (1u << 1)
#define   E1000_RCTL_SBP            (1u << 2)   /* store bad packets */
#define   E1000_RCTL_UPE            (1u << 3)   /* unicast promiscuous */
#define   E1000_RCTL_MPE            (1u << 4)   /* multicast promiscuous */
#define   E1000_RCTL_LPE            (1u << 5)   /* long packets */
#define   E1000_RCTL_RDMTS_HALF     (0u << 8)   /* free-descriptor threshold */
#define   E1000_RCTL_DTYP_LEGACY    (0u << 10)
#define   E1000_RCTL_BAM            (1u << 15)  /* accept broadcast */
#define   E1000_RCTL_BSIZE_2048     (0u << 16)  /* with BSEX = 0 */
#define   E1000_RCTL_BSEX           (1u << 25)
#define   E1000_RCTL_SECRC          (1u << 26)  /* strip Ethernet CRC */
#define E1000_RDBAL       0x02800  /* 32 r/w  queue 0 ring base, low */
#define E1000_RDBAH       0x02804  /* 32 r/w  ring base, high */
#define E1000_RDLEN       0x02808  /* 32 r/w  ring bytes, multiple of 128 */
#define E1000_RDH         0x02810  /* 32 r/w  head (hardware) */
#define E1000_RDT         0x02818  /* 32 r/w  tail (software) */
#define E1000_RDTR        0x02820  /* 32 r/w  receive interrupt delay */
#define E1000_RXDCTL      0x02828  /* 32 r/w  receive descriptor control */
#define E1000_RADV        0x0282c  /* 32 r/w  absolute receive interrupt delay */
#define E1000_RXCSUM      0x05000  /* 32 r/w  receive checksum control */
#define   E1000_RXCSUM_IPOFLD       (1u << 8)
#define   E1000_RXCSUM_TUOFLD       (1u << 9)
#define E1000_RFCTL       0x05008  /* 32 r/w  receive filter control */
#define   E1000_RFCTL_EXTEN         (1u << 15)  /* extended rx descriptors */
#define E1000_MTA         0x05200  /* 32 r/w  x128 multicast table */
#define   E1000_MTA_ENTRIES         128
#define E1000_RAL0        0x05400  /* 32 r/w  receive address 0, low */
#define E1000_RAH0        0x05404  /* 32 r/w  receive address 0, high */
#define   E1000_RAH_AV              (1u << 31)  /* address valid */

/* ---- transmit registers (chapter 10) ---- */
#define E1000_TCTL        0x00400  /* 32 r/w  transmit control */
#define   E1000_TCTL_EN             (1u << 1)
#define   E1000_TCTL_PSP            (1u << 3)   /* pad short packets */
#define   E1000_TCTL_CT_SHIFT       4           /* collision threshold */
#define   E1000_TCTL_CT_DEFAULT     0x0f
#define   E1000_TCTL_COLD_SHIFT     12          /* collision distance */
#define   E1000_TCTL_COLD_FD        0x3f        /* full duplex value */
#define   E1000_TCTL_RTLC           (1u << 24)  /* retransmit on late collision */
#define E1000_TIPG        0x00410  /* 32 r/w  transmit inter-packet gap */
#define   E1000_TIPG_IPGT           8           /* bits 9:0 */
#define   E1000_TIPG_IPGR1          (8u << 10)  /* bits 19:10 */
#define   E1000_TIPG_IPGR2          (6u << 20)  /* bits 29:20 */
#define E1000_TDBAL       0x03800  /* 32 r/w  queue 0 ring base, low */
#define E1000_TDBAH       0x03804  /* 32 r/w  ring base, high */
#define E1000_TDLEN       0x03808  /* 32 r/w  ring bytes, multiple of 128 */
#define E1000_TDH         0x03810  /* 32 r/w  head (hardware) */
#define E1000_TDT         0x03818  /* 32 r/w  tail (software) */
#define E1000_TIDV        0x03820  /* 32 r/w  transmit interrupt delay */
#define E1000_TXDCTL      0x03828  /* 32 r/w  transmit descriptor control */
#define E1000_TADV        0x0382c  /* 32 r/w  absolute transmit interrupt delay */

/* ---- legacy descriptors (sec 7.1 receive, 7.2 transmit) ---- */
struct e1000_rx_desc {
	uint64_t addr;      /* buffer, physical */
	uint16_t length;    /* bytes written (CRC stripped with SECRC) */
	uint16_t csum;      /* packet checksum */
	uint8_t status;     /* E1000_RXD_STAT_* */
	uint8_t errors;     /* E1000_RXD_ERR_* */
	uint16_t special;   /* VLAN tag */
} __attribute__((packed));
#define E1000_RXD_STAT_DD     (1u << 0)   /* descriptor done */
#define E1000_RXD_STAT_EOP    (1u << 1)   /* end of packet */
#define E1000_RXD_STAT_IXSM   (1u << 2)   /* ignore checksum indication */
#define E1000_RXD_STAT_TCPCS  (1u << 5)   /* TCP/UDP checksum computed */
#define E1000_RXD_STAT_IPCS   (1u << 6)   /* IPv4 checksum computed */
#define E1000_RXD_ERR_CE      (1u << 0)   /* CRC or alignment error */
#define E1000_RXD_ERR_SE      (1u << 1)   /* symbol error */
#define E1000_RXD_ERR_SEQ     (1u << 2)
#define E1000_RXD_ERR_CXE     (1u << 4)   /* carrier extension error */
#define E1000_RXD_ERR_TCPE    (1u << 5)   /* TCP/UDP checksum error */
#define E1000_RXD_ERR_IPE     (1u << 6)   /* IPv4 checksum error */
#define E1000_RXD_ERR_RXE     (1u << 7)   /* data error */
#define E1000_RXD_ERR_FRAME   (E1000_RXD_ERR_CE | E1000_RXD_ERR_SE | \
			       E1000_RXD_ERR_SEQ | E1000_RXD_ERR_CXE | \
			       E1000_RXD_ERR_RXE)

struct e1000_tx_desc {
	uint64_t addr;      /* buffer, physical */
	uint16_t length;
	uint8_t cso;        /* checksum offset (unused: software checksums) */
	uint8_t cmd;        /* E1000_TXD_CMD_* */
	uint8_t status;     /* E1000_TXD_STAT_* */
	uint8_t css;
	uint16_t special;
} __attribute__((packed));
#define E1000_TXD_CMD_EOP     (1u << 0)   /* end of packet */
#define E1000_TXD_CMD_IFCS    (1u << 1)   /* insert FCS */
#define E1000_TXD_CMD_RS      (1u << 3)   /* report status (sets DD) */
#define E1000_TXD_STAT_DD     (1u << 0)

#define E1000_RING_ALIGN      128         /* RDLEN/TDLEN granularity, base alignment */

#endif
